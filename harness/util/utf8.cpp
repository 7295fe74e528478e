#include "harness/util/utf8.h"

#include "harness/util/errors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace ptq {

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The allowed range of the second byte after lead byte `lead` (table 3-7); the other continuation bytes
// are always 80..BF. Returns the sequence length, 0 for a byte that cannot start one (with `why` set).
int sequence_rule(unsigned char lead, unsigned char& lo, unsigned char& hi, const char*& why) {
  lo = 0x80, hi = 0xBF;
  if (lead >= 0x80 && lead <= 0xBF) return why = "continuation byte without a lead byte", 0;
  if (lead == 0xC0 || lead == 0xC1) return why = "overlong encoding", 0;
  if (lead <= 0xDF) return 2;
  if (lead == 0xE0) return lo = 0xA0, 3;
  if (lead == 0xED) return hi = 0x9F, 3;
  if (lead <= 0xEF) return 3;
  if (lead == 0xF0) return lo = 0x90, 4;
  if (lead <= 0xF3) return 4;
  if (lead == 0xF4) return hi = 0x8F, 4;
  return why = "code point above U+10FFFF or a byte that never occurs in UTF-8", 0;
}

// What a wrong second byte means for this lead byte.
const char* second_byte_problem(unsigned char lead, unsigned char second) {
  if (!is_continuation(second)) return "sequence cut short";
  if (lead == 0xE0 || lead == 0xF0) return "overlong encoding";
  if (lead == 0xED) return "UTF-16 surrogate (U+D800..U+DFFF)";
  return "code point above U+10FFFF";
}

// True when the 8 bytes at p are all ASCII (the common case of English text: one test per 8 bytes).
bool ascii8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return (w & 0x8080808080808080ull) == 0;
}

}  // namespace

std::optional<Utf8Problem> find_invalid_utf8(std::string_view s) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && ascii8(s.data() + i)) {
      i += 8;
      continue;
    }
    const auto lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    unsigned char lo, hi;
    const char* why = "";
    const int len = sequence_rule(lead, lo, hi, why);
    if (len == 0) return Utf8Problem{i, why};
    if (i + 1 >= n) return Utf8Problem{i, "sequence cut short by the end of the input"};
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < lo || second > hi) return Utf8Problem{i, second_byte_problem(lead, second)};
    for (int k = 2; k < len; ++k) {
      if (i + static_cast<size_t>(k) >= n) return Utf8Problem{i, "sequence cut short by the end of the input"};
      if (!is_continuation(static_cast<unsigned char>(s[i + static_cast<size_t>(k)])))
        return Utf8Problem{i, "sequence cut short"};
    }
    i += static_cast<size_t>(len);
  }
  return std::nullopt;
}

std::optional<size_t> first_invalid_utf8(std::string_view s) {
  const auto p = find_invalid_utf8(s);
  if (!p) return std::nullopt;
  return p->offset;
}

bool looks_like_utf16(std::string_view s) {
  if (s.size() >= 2) {
    const auto b0 = static_cast<unsigned char>(s[0]), b1 = static_cast<unsigned char>(s[1]);
    if ((b0 == 0xFF && b1 == 0xFE) || (b0 == 0xFE && b1 == 0xFF)) return true;
  }
  const std::string_view head = s.substr(0, 4096);
  if (head.size() < 2) return false;
  const auto nuls = static_cast<size_t>(std::count(head.begin(), head.end(), '\0'));
  return nuls * 4 >= head.size();
}

void require_utf8(std::string_view s, std::string_view where) {
  if (looks_like_utf16(s))
    throw InputError(fmt::format("{}: looks like UTF-16 (a byte-order mark or NUL bytes); convert it to UTF-8 "
                                 "(e.g. iconv -f UTF-16 -t UTF-8)", where));
  const auto p = find_invalid_utf8(s);
  if (!p) return;
  std::string bytes;
  for (size_t k = p->offset; k < std::min(s.size(), p->offset + 4); ++k)
    bytes += fmt::format("{}{:02X}", bytes.empty() ? "" : " ", static_cast<unsigned char>(s[k]));
  throw InputError(fmt::format("{}: not valid UTF-8 at byte offset {} ({}: bytes {}); convert it to UTF-8", where,
                               p->offset, p->why, bytes));
}

}  // namespace ptq
