#include "harness/cli/runtime_options.h"

#include "harness/cli/choices.h"

#include "harness/util/input_limits.h"
#include "harness/model/checkpoint.h"
#include "harness/util/numerics.h"
#include "harness/util/request_limits.h"
#include "harness/util/runtime.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>

namespace ptq::cli {

namespace {

// cpu, cuda or cuda:N; anything else gets a suggestion (CUDA availability is checked when applied).
CLI::Validator device_name() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        const bool cuda_n = v.rfind("cuda:", 0) == 0 && v.size() > 5 && v.find_first_not_of("0123456789", 5) == std::string::npos;
        if (v == "cpu" || v == "cuda" || cuda_n) return "";
        return unknown_name_message("", "device", v, {"cpu", "cuda", "cuda:0"});
      },
      "cpu|cuda|cuda:N");
}

// --threads is refused when parsed, before any work: 100000 threads would be spawned otherwise.
CLI::Validator thread_count() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        errno = 0;
        char* end = nullptr;
        const long long n = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0') return "";  // not a number: CLI11's conversion says so
        if (errno == ERANGE) return fmt::format("{} is not a thread count, expected 0 (all cores) to {}", bounded_excerpt(v),
                                                limit_value(Limit::kThreads));
        return threads_problem(n);
      },
      "");  // no name: the help line stays "--threads INT=0"
}

}  // namespace

void add_runtime_options(CLI::App* cmd, RuntimeOptions& o) {
  cmd->add_option("--threads", o.threads, "CPU threads (0 = all cores)")->check(thread_count())->capture_default_str();
  cmd->add_option("--device", o.device, "cpu, cuda or cuda:N")->check(device_name())->capture_default_str();
  cmd->add_option("--dtype", o.dtype, "compute dtype: auto (fp32 on CPU, fp16 on CUDA), fp32, fp16, bf16")
      ->check(one_of({"auto", "fp32", "fp16", "bf16", "float32", "float16", "bfloat16"}))
      ->capture_default_str();
  cmd->add_option("--stream", o.stream,
                  "read decoder blocks from the mmap'd checkpoint onto the device one at a time: auto (when the "
                  "weights would take over half the free memory), on, off")
      ->check(one_of({"auto", "on", "off"}))
      ->capture_default_str();
  cmd->add_option("--activations", o.activations,
                  "where block reconstruction keeps calibration activations: auto, device, host (pinned; CUDA)")
      ->check(one_of({"auto", "device", "host"}))
      ->capture_default_str();
  cmd->add_option("--numerics", o.numerics,
                  "native (the kernels this machine picks: fastest) or reproducible (kernels pinned so that the same "
                  "digits come out on any x86-64 machine with AVX2, whatever its thread count)")
      ->check(one_of({"native", "reproducible"}))
      ->capture_default_str();
  cmd->add_flag("--allow-nonfinite", o.allow_nonfinite,
                "load weights holding NaN or Inf (refused by default, naming the tensor; for research on broken checkpoints)");
}

Runtime apply_runtime_options(const RuntimeOptions& o) {
  enter_numerics(parse_numerics(o.numerics, "--numerics"));
  set_nonfinite_weights_allowed(o.allow_nonfinite);
  const int threads = configure_threads(o.threads);
  const c10::Device device = parse_device(o.device);
  return {threads, device, parse_dtype(o.dtype, device), o.stream, o.activations};
}

}  // namespace ptq::cli
