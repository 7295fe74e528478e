#include "harness/util/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include <locale.h>
#include <wctype.h>
#include <cwctype>

namespace ptq {

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string human_bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", v, units[u]);
}

std::string human_duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 3600) return fmt::format("{}m {:02d}s", s / 60, s % 60);
  return fmt::format("{}h {:02d}m {:02d}s", s / 3600, (s / 60) % 60, s % 60);
}

bool python_isspace(char32_t c) {
  // CPython's _PyUnicode_IsWhitespace: ASCII \t\n\v\f\r, \x1c-\x1f, space, and the Unicode
  // characters with bidirectional type WS/B/S or category Zs.
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
    case 0x1C: case 0x1D: case 0x1E: case 0x1F: case 0x20:
    case 0x85: case 0xA0: case 0x1680:
    case 0x2000: case 0x2001: case 0x2002: case 0x2003: case 0x2004: case 0x2005:
    case 0x2006: case 0x2007: case 0x2008: case 0x2009: case 0x200A:
    case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return false;
  }
}

namespace {

// Decodes the code point at s[i]; returns its byte length (1 for an invalid byte, decoded as itself).
size_t decode_utf8(std::string_view s, size_t i, char32_t& c) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t n;
  if (b0 < 0x80) { c = b0; return 1; }
  if ((b0 >> 5) == 0x6) { c = b0 & 0x1F; n = 2; }
  else if ((b0 >> 4) == 0xE) { c = b0 & 0x0F; n = 3; }
  else if ((b0 >> 3) == 0x1E) { c = b0 & 0x07; n = 4; }
  else { c = 0xFFFD; return 1; }
  if (i + n > s.size()) { c = 0xFFFD; return 1; }
  for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return n;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) { out += static_cast<char>(c); }
  else if (c < 0x800) { out += static_cast<char>(0xC0 | (c >> 6)); out += static_cast<char>(0x80 | (c & 0x3F)); }
  else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

locale_t utf8_locale() {
  static const locale_t loc = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return loc;
}

}  // namespace

bool python_is_blank(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    const auto b0 = static_cast<unsigned char>(s[i]);
    const size_t n = decode_utf8(s, i, c);
    if (c == 0xFFFD && b0 >= 0x80 && n == 1) return false;  // invalid UTF-8: not whitespace
    if (!python_isspace(c)) return false;
    i += n;
  }
  return true;
}

std::string python_rstrip(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    char32_t c;
    decode_utf8(s, start, c);
    if (!python_isspace(c)) break;
    end = start;
  }
  return std::string(s.substr(0, end));
}

std::string python_strip(std::string_view s) {
  size_t begin = 0;
  while (begin < s.size()) {
    char32_t c;
    const size_t n = decode_utf8(s, begin, c);
    if (!python_isspace(c)) break;
    begin += n;
  }
  return python_rstrip(s.substr(begin));
}

std::string python_capitalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const locale_t loc = utf8_locale();
  bool first = true;
  for (size_t i = 0; i < s.size();) {
    char32_t c;
    const size_t n = decode_utf8(s, i, c);
    if (c == 0xFFFD && n == 1 && static_cast<unsigned char>(s[i]) >= 0x80) {
      out += s[i];  // not UTF-8: keep the byte
    } else {
      const wint_t w = static_cast<wint_t>(c);
      append_utf8(out, static_cast<char32_t>(loc ? (first ? ::towupper_l(w, loc) : ::towlower_l(w, loc))
                                                 : (first ? std::towupper(w) : std::towlower(w))));
    }
    first = false;
    i += n;
  }
  return out;
}

namespace {
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string closest_match(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  // Beyond about a third of the name's length, a suggestion is more confusing than helpful.
  size_t best_d = std::max<size_t>(1, (name.size() + 1) / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

size_t utf8_width(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace ptq
