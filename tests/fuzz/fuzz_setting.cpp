// The quantization-setting notation (W4A16g128, W4A4KV8-wsym, ...): any string either parses to a
// setting whose canonical spelling is the string itself, or is an InputError.
#include "harness/ptq/setting_notation.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(ptq::fuzz::as_text(data, size));
  ptq::quant::SettingNotation s;
  if (!ptq::fuzz::accepts([&] { s = ptq::quant::parse_setting_notation(text); })) return 0;
  if (ptq::quant::format_setting_notation(s) != text) {
    std::fprintf(stderr, "fuzz_setting: '%s' parsed but prints back differently\n", text.c_str());
    std::abort();
  }
  return 0;
}
