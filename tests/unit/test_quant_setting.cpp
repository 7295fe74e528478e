#include "harness/ptq/quant_setting.h"
#include "harness/util/errors.h"
#include "tests/support/random_model.h"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using ptq::quant::QuantSetting;

namespace {
std::string error_of(const std::string& s) {
  try {
    QuantSetting::parse(s);
  } catch (const ptq::InputError& e) {
    return e.what();
  }
  return "accepted";
}
}  // namespace

TEST_CASE("paper settings parse and print back identically", "[unit][setting]") {
  for (const auto& k : ptq::quant::known_settings()) CHECK(QuantSetting::parse(k.name).str() == k.name);
  for (const char* s : {"W4A8KV4", "W4A16g128-wsym", "W4A4-wsym-actsym", "W16A16KV8", "W8A8KV16"})
    CHECK(QuantSetting::parse(s).str() == s);
  const auto s = QuantSetting::parse("W4A16g128");
  CHECK(s.wbits == 4);
  CHECK(s.abits == 16);
  CHECK(s.group_size == 128);
  CHECK(s.kv_bits == 16);
  CHECK_FALSE(s.act_spec().enabled());
  const auto w4a4 = QuantSetting::parse("W4A4");
  CHECK(w4a4.kv_bits == 4);
  CHECK(w4a4.kv_spec().enabled());
  CHECK(QuantSetting::parse("W16A16").is_full_precision());
  CHECK(QuantSetting::parse("W4A8KV4").kv_bits == 4);
}

TEST_CASE("invalid settings are clear errors", "[unit][setting]") {
  CHECK_THAT(error_of("W0A4"), Contains("weight bits 0 outside 2..8 and 16"));
  CHECK_THAT(error_of("W4A4g-1"), Contains("group size -1 must be positive"));
  CHECK_THAT(error_of("W4A1"), Contains("activation bits 1"));
  CHECK_THAT(error_of("W16A16g128"), Contains("a group size needs quantized weights"));
  CHECK_THAT(error_of("w4a16"), Contains("not in the paper notation"));
  CHECK_THAT(error_of("W4A4KV4"), Contains("not canonical, write it as W4A4"));
  CHECK_THAT(error_of("W4A4-actsym-wsym"), Contains("write it as W4A4-wsym-actsym"));
  CHECK_THAT(error_of("W4A16g0"), Contains("must be positive"));
}

TEST_CASE("a group size must divide every linear's in_features", "[unit][setting]") {
  const auto c = ptq::test::tiny_config();  // hidden 64, intermediate 96
  CHECK_NOTHROW(QuantSetting::parse("W4A16g32").validate_for(c));
  CHECK_THROWS_WITH(QuantSetting::parse("W4A16g100").validate_for(c),
                    Contains("group size 100 does not divide in_features 64"));
  CHECK_THROWS_WITH(QuantSetting::parse("W4A16g64").validate_for(c),
                    Contains("does not divide in_features 96 of down_proj"));
}
