// Catch2's main(), compiled once for all test binaries. Tests compute in reproducible numerics, as the
// quickstart does, so that the numbers they check are the same on every x86-64 machine: the binary pins
// its kernels the way the CLI does (restarting itself once when the pins are not in its environment;
// CTest sets them, see tests/CMakeLists.txt). PTQ_TEST_NUMERICS=native runs them on the machine's own kernels.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "harness/util/errors.h"
#include "harness/util/numerics.h"

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  ptq::remember_command_line(argc, argv);
  const char* mode = std::getenv("PTQ_TEST_NUMERICS");
  try {
    ptq::enter_numerics(ptq::parse_numerics(mode ? mode : "reproducible", "PTQ_TEST_NUMERICS"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test setup: %s\n", e.what());
    return ptq::kExitEnvironment;
  }
  return Catch::Session().run(argc, argv);
}
