// The two kinds of failure the harness distinguishes (DESIGN.md §5):
//  - InputError: the user's input is wrong (missing file, malformed JSON/safetensors, unknown task,
//    shape mismatch). The CLI prints it on one line and exits 2. Messages name the file/key, what was
//    found and what was expected.
//  - EnvironmentError: the input is fine but this machine or process cannot do what was asked (e.g.
//    reproducible numerics without OpenBLAS, or with its kernel pins stripped). One line, exit 6.
//  - anything else (std::runtime_error, c10::Error, ...): an internal failure, exit 1.
#pragma once

#include <stdexcept>
#include <string>

namespace ptq {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class EnvironmentError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr int kExitEnvironment = 6;

}  // namespace ptq
