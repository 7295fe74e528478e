#include "tests/support/cli_runner.h"

#include "tests/support/test_env.h"

#include <fmt/format.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ptq::test {

namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string ptqbench_path() { return PTQ_CLI_PATH; }

CliResult run_ptqbench(const std::vector<std::string>& args) { return run_ptqbench(args, ""); }

CliResult run_ptqbench(const std::vector<std::string>& args, const std::string& environment) {
  TempDir tmp;
  // GOMP_SPINCOUNT preset: the CLI does not need to re-execute itself (see util/runtime.h).
  std::string cmd = "PTQ_PROGRESS=plain GOMP_SPINCOUNT=0 " + environment + " " + shell_quote(PTQ_CLI_PATH);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += fmt::format(" >{} 2>{}", shell_quote(tmp.file("out")), shell_quote(tmp.file("err")));
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(tmp.file("out"));
  r.err = slurp(tmp.file("err"));
  return r;
}

}  // namespace ptq::test
