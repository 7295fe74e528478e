// quant::ConfigSchema: one declaration of a config's fields gives strict reading, canonical writing and
// the listing of defaults; enum fields (choice) read and write their names, never their numbers.
#include "harness/ptq/config_schema.h"
#include "harness/recon/nan_policy.h"
#include "harness/util/errors.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using Catch::Matchers::Contains;
using ptq::quant::Switch;

namespace {

struct ToyConfig {
  int epochs = 20;
  bool lwc = true;
  std::string qk_scale = "released";
  Switch let = Switch::kAuto;
  ptq::recon::NanPolicy nan_policy = ptq::recon::NanPolicy::kStop;

  static const ptq::quant::ConfigSchema<ToyConfig>& schema() {
    using C = ToyConfig;
    static const auto s = ptq::quant::ConfigSchema<C>("toy")
                              .field("epochs", &C::epochs, "a script")
                              .field("lwc", &C::lwc, "a script")
                              .field("qk_scale", &C::qk_scale, "the code", {"released", "off"})
                              .choice("let", &C::let, "auto: the scripts", ptq::quant::switch_names())
                              .choice("nan_policy", &C::nan_policy, "ours", ptq::recon::nan_policy_names());
    return s;
  }
};

std::string error_of(const nlohmann::json& j) {
  try {
    ToyConfig::schema().from_json(j);
  } catch (const ptq::InputError& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("a config's defaults are written with every key, enums by name", "[unit][config]") {
  const nlohmann::json expected = {
      {"epochs", 20}, {"lwc", true}, {"qk_scale", "released"}, {"let", "auto"}, {"nan_policy", "stop"}};
  CHECK(ToyConfig::schema().to_json(ToyConfig{}) == expected);
}

TEST_CASE("reading overrides sets enum members from their names and keeps the other defaults", "[unit][config]") {
  const ToyConfig c = ToyConfig::schema().from_json({{"let", "off"}, {"nan_policy", "skip-block"}, {"epochs", 3}});
  CHECK(c.let == Switch::kOff);
  CHECK(c.nan_policy == ptq::recon::NanPolicy::kSkipBlock);
  CHECK(c.epochs == 3);
  CHECK(c.lwc);
  CHECK(c.qk_scale == "released");
  // Written back, the same document (what run ids hash).
  const nlohmann::json written = ToyConfig::schema().to_json(c);
  CHECK(written["let"] == "off");
  CHECK(written["nan_policy"] == "skip-block");
  CHECK(ToyConfig::schema().to_json(ToyConfig::schema().from_json(written)) == written);
}

TEST_CASE("a value outside an enum's names, a wrong type or an unknown key is one clear error", "[unit][config]") {
  const std::string bad = error_of({{"let", "maybe"}});
  CHECK_THAT(bad, Contains("config of method 'toy'"));
  CHECK_THAT(bad, Contains("\"let\" is \"maybe\", expected one of: auto, on, off"));
  CHECK_THAT(error_of({{"let", 1}}), Contains("let"));
  CHECK_THAT(error_of({{"nan_polcy", "stop"}}), Contains("did you mean \"nan_policy\"?"));
  CHECK_THAT(error_of({{"qk_scale", "on"}}), Contains("expected one of: released, off"));
}

TEST_CASE("the listing gives each field's default, source and, for strings and enums, the allowed names", "[unit][config]") {
  const nlohmann::json d = ToyConfig::schema().describe();
  CHECK(d["let"]["default"] == "auto");
  CHECK(d["let"]["source"] == "auto: the scripts");
  CHECK(d["let"]["allowed"] == nlohmann::json({"auto", "on", "off"}));
  CHECK(d["nan_policy"]["allowed"] == nlohmann::json({"stop", "skip-block"}));
  CHECK_FALSE(d["epochs"].contains("allowed"));
}

TEST_CASE("an auto/on/off switch is on when on, or when auto and the case says so", "[unit][config]") {
  CHECK(ptq::quant::is_on(Switch::kOn, false));
  CHECK(ptq::quant::is_on(Switch::kAuto, true));
  CHECK_FALSE(ptq::quant::is_on(Switch::kAuto, false));
  CHECK_FALSE(ptq::quant::is_on(Switch::kOff, true));
}
