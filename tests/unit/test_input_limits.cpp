// The input limits (harness/util/input_limits.h): messages name the place, the value and the limit; the
// PTQBENCH_MAX_<NAME> overrides work and are themselves validated; echoed values are bounded.
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>
#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

TEST_CASE("check_limit names the place, the value, the limit and the variable that raises it", "[unit][limits]") {
  ::unsetenv("PTQBENCH_MAX_LAYERS");
  CHECK_NOTHROW(ptq::check_limit(ptq::Limit::kLayers, 1024, "config.json: num_hidden_layers"));
  CHECK_THROWS_WITH(ptq::check_limit(ptq::Limit::kLayers, 1'000'000'000, "config.json: num_hidden_layers"),
                    Equals("config.json: num_hidden_layers: 1000000000 exceeds the limit of 1024 transformer layers "
                           "(num_hidden_layers) (PTQBENCH_MAX_LAYERS raises it)"));
  CHECK_THROWS_WITH(ptq::check_limit(ptq::Limit::kThreads, -1, "--threads"),
                    Equals("--threads: -1 is not positive, expected 1 to 1024 threads"));
  // A fixed limit does not mention a variable.
  CHECK_THROWS_WITH(ptq::check_limit(ptq::Limit::kNameLength, 300, "experiment name"),
                    Equals("experiment name: 300 exceeds the limit of 200 characters in a name"));
}

TEST_CASE("PTQBENCH_MAX_<NAME> raises a limit, and a malformed override is an input error naming it", "[unit][limits]") {
  ::setenv("PTQBENCH_MAX_LAYERS", "2048", 1);
  CHECK(ptq::limit_value(ptq::Limit::kLayers) == 2048);
  CHECK_NOTHROW(ptq::check_limit(ptq::Limit::kLayers, 2000, "x"));
  ::setenv("PTQBENCH_MAX_LAYERS", "lots", 1);
  CHECK_THROWS_WITH(ptq::limit_value(ptq::Limit::kLayers), Contains("PTQBENCH_MAX_LAYERS=lots is not a positive integer"));
  ::setenv("PTQBENCH_MAX_LAYERS", "-5", 1);
  CHECK_THROWS_AS(ptq::limit_value(ptq::Limit::kLayers), ptq::InputError);
  ::unsetenv("PTQBENCH_MAX_LAYERS");
  // Not overridable: the variable is ignored.
  ::setenv("PTQBENCH_MAX_SAFETENSORS_HEADER_BYTES", "5", 1);
  CHECK(ptq::limit_value(ptq::Limit::kSafetensorsHeaderBytes) == 100'000'000);
  ::unsetenv("PTQBENCH_MAX_SAFETENSORS_HEADER_BYTES");
}

TEST_CASE("every limit has a unique name, a positive default and a description", "[unit][limits]") {
  std::set<std::string> names;
  for (const auto& l : ptq::input_limits()) {
    CHECK(names.insert(l.name).second);
    CHECK(l.default_value > 0);
    CHECK(std::string(l.what).size() > 3);
    CHECK(ptq::limit_env_var(l).rfind("PTQBENCH_MAX_", 0) == 0);
  }
  CHECK(names.count("layers") == 1);
}

TEST_CASE("bounded_excerpt cuts long values at a UTF-8 boundary and escapes control characters", "[unit][limits]") {
  CHECK(ptq::bounded_excerpt("short") == "short");
  CHECK(ptq::bounded_excerpt("a\nb\x01") == "a\\x0ab\\x01");
  const std::string long_value(100'000, 'x');
  const std::string cut = ptq::bounded_excerpt(long_value);
  CHECK(cut == std::string(120, 'x') + "… (100000 bytes)");
  // 119 ASCII bytes then a 2-byte 'é' straddling the 120-byte cut: the whole character goes.
  const std::string straddle = std::string(119, 'a') + "\xC3\xA9" + "tail";
  CHECK(ptq::bounded_excerpt(straddle) == std::string(119, 'a') + "… (125 bytes)");
}
