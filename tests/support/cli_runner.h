// Runs the real `ptqbench` executable (as users do) and captures exit code, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace ptq::test {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

CliResult run_ptqbench(const std::vector<std::string>& args);
// With `environment` in front of the command (shell words, e.g. "env -u OPENBLAS_CORETYPE PTQ_NO_REEXEC=1").
CliResult run_ptqbench(const std::vector<std::string>& args, const std::string& environment);
// The freshly built executable (for tests that start it themselves, e.g. in the background).
std::string ptqbench_path();

}  // namespace ptq::test
