#include "harness/ptq/setting_notation.h"

#include "harness/util/errors.h"
#include "harness/util/input_limits.h"

#include <fmt/format.h>

#include <string_view>

namespace ptq::quant {

namespace {

bool valid_bits(int64_t b) { return (b >= 2 && b <= 8) || b == 16; }

// A hand-written scanner rather than std::regex: linear, no recursion (std::regex recurses per
// character and overflows the stack on long inputs), and numbers are read with an explicit bound.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool eat(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  // Digits (an optional '-' first when `sign`); nullopt-like false when there are none. Values beyond
  // 10^12 are clamped there: every field's own check then refuses them by value.
  bool number(int64_t& out, bool sign = false) {
    const size_t start = pos_;
    const bool negative = sign && pos_ < s_.size() && s_[pos_] == '-';
    if (negative) ++pos_;
    int64_t v = 0;
    size_t digits = 0;
    for (; pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; ++pos_, ++digits)
      v = v > 1'000'000'000'000 ? v : v * 10 + (s_[pos_] - '0');
    if (digits == 0) {
      pos_ = start;
      return false;
    }
    out = negative ? -v : v;
    return true;
  }
  bool done() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

SettingNotation parse_setting_notation(const std::string& text) {
  const auto bad = [&](const std::string& why) {
    return InputError(fmt::format("setting '{}': {} (expected W<bits>A<bits>[g<group>][KV<bits>][-wsym][-actsym], "
                                  "e.g. W4A16g128 or W4A4; bits 2..8 or 16)", bounded_excerpt(text), why));
  };
  Scanner in(text);
  int64_t w = 0, a = 0, g = 0, kv = 0;
  if (!in.eat("W") || !in.number(w) || !in.eat("A") || !in.number(a)) throw bad("not in the paper notation");
  const bool has_group = in.eat("g");
  if (has_group && !in.number(g, true)) throw bad("not in the paper notation");
  const bool has_kv = in.eat("KV");
  if (has_kv && !in.number(kv)) throw bad("not in the paper notation");
  SettingNotation s;
  while (!in.done()) {
    if (in.eat("-wsym")) s.weight_symmetric = true;
    else if (in.eat("-actsym")) s.act_symmetric = true;
    else throw bad("not in the paper notation");
  }
  if (!valid_bits(w)) throw bad(fmt::format("weight bits {} outside 2..8 and 16", w));
  if (!valid_bits(a)) throw bad(fmt::format("activation bits {} outside 2..8 and 16", a));
  s.wbits = static_cast<int>(w);
  s.abits = static_cast<int>(a);
  if (has_group) {
    if (g <= 0) throw bad(fmt::format("group size {} must be positive", g));
    if (g > limit_value(Limit::kIntermediateSize))
      throw bad(fmt::format("group size {} is larger than any layer's input width (limit {})", g,
                            limit_value(Limit::kIntermediateSize)));
    if (s.wbits >= 16) throw bad("a group size needs quantized weights");
    s.group_size = g;
  }
  s.kv_bits = s.abits;
  if (has_kv) {
    if (!valid_bits(kv)) throw bad(fmt::format("KV bits {} outside 2..8 and 16", kv));
    s.kv_bits = static_cast<int>(kv);
  }
  const std::string canonical = format_setting_notation(s);
  if (canonical != text) throw bad(fmt::format("not canonical, write it as {}", canonical));
  return s;
}

std::string format_setting_notation(const SettingNotation& s) {
  std::string out = fmt::format("W{}A{}", s.wbits, s.abits);
  if (s.group_size > 0) out += fmt::format("g{}", s.group_size);
  if (s.kv_bits != s.abits) out += fmt::format("KV{}", s.kv_bits);
  if (s.weight_symmetric) out += "-wsym";
  if (s.act_symmetric) out += "-actsym";
  return out;
}

}  // namespace ptq::quant
