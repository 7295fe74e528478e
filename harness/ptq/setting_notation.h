// The papers' setting notation as text, W<w>A<a>[g<group>][KV<kv>][-wsym][-actsym], parsed without
// LibTorch (QuantSetting builds on it; the fuzz target tests/fuzz/fuzz_setting.cpp calls it directly).
#pragma once

#include <cstdint>
#include <string>

namespace ptq::quant {

struct SettingNotation {
  int wbits = 16;
  int abits = 16;
  int64_t group_size = 0;  // 0 = per output channel
  int kv_bits = 16;        // equals abits unless written as KV<n>
  bool weight_symmetric = false;
  bool act_symmetric = false;
};

// Throws InputError naming the text (bounded) and the rule it breaks; never another exception, whatever
// the text (numbers too large for any field are refused by value, not by std::out_of_range).
SettingNotation parse_setting_notation(const std::string& text);
// The canonical spelling: parse_setting_notation(format_setting_notation(s)) == s.
std::string format_setting_notation(const SettingNotation& s);

}  // namespace ptq::quant
