// The --threads / --device / --dtype / --numerics options every compute command shares, and their application.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace CLI {
class App;
}

namespace ptq::cli {

struct RuntimeOptions {
  int threads = 0;
  std::string device = "cpu";
  std::string dtype = "auto";
  std::string stream = "auto";       // model/block_storage.h
  std::string activations = "auto";  // model/activation_home.h
  std::string numerics = "native";   // util/numerics.h
  bool allow_nonfinite = false;      // model/checkpoint.h: load weights holding NaN/Inf
};

struct Runtime {
  int threads;
  c10::Device device;
  c10::ScalarType dtype;
  std::string stream, activations;
};

void add_runtime_options(CLI::App* cmd, RuntimeOptions& options);
// Enters the numerics mode (re-executing the process for reproducible numerics when needed), sets the
// thread count and parses device and dtype (InputError for bad values; CLI11 checks the
// choices of --stream and --activations).
Runtime apply_runtime_options(const RuntimeOptions& options);

}  // namespace ptq::cli
