#include "harness/model/tokenizers/unicode_text.h"

#include "harness/util/errors.h"

#include <fmt/format.h>
#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <unordered_map>

namespace ptq::tok {

size_t first_invalid_utf8(std::string_view s) {
  const utf8proc_uint8_t* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    if (p[i] < 0x80) { ++i; continue; }
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) return i;
    i += static_cast<size_t>(n);
  }
  return std::string_view::npos;
}

void require_utf8(std::string_view s, std::string_view what) {
  const size_t bad = first_invalid_utf8(s);
  if (bad != std::string_view::npos)
    throw InputError(fmt::format("{} is not valid UTF-8 (byte offset {}, byte 0x{:02X}); expected UTF-8 text", what,
                                 bad, static_cast<unsigned char>(s[bad])));
}

std::string utf8_encode(char32_t cp) {
  utf8proc_uint8_t buf[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  return std::string(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

namespace {

std::string utf8proc_map_string(std::string_view text, int options, std::string_view what) {
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                          static_cast<utf8proc_ssize_t>(text.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  if (n < 0) throw InputError(fmt::format("{} failed: {}", what, utf8proc_errmsg(n)));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

}  // namespace

std::string normalize_unicode(std::string_view text, std::string_view form) {
  int options = UTF8PROC_STABLE;
  if (form == "NFC") options |= UTF8PROC_COMPOSE;
  else if (form == "NFD") options |= UTF8PROC_DECOMPOSE;
  else if (form == "NFKC") options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  else if (form == "NFKD") options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  else throw InputError(fmt::format("unknown Unicode normalization form '{}' (expected NFC, NFD, NFKC or NFKD)", form));
  // ASCII is invariant under every form: skip the copy for the common case.
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return std::string(text);
  return utf8proc_map_string(text, options, fmt::format("{} normalization", form));
}

std::string lowercase_unicode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t i = 0;
  while (i < text.size()) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    if (n <= 0) throw InputError("lowercase normalizer: text is not valid UTF-8");
    out += utf8_encode(static_cast<char32_t>(utf8proc_tolower(cp)));
    i += static_cast<size_t>(n);
  }
  return out;
}

const std::array<std::string, 256>& byte_to_unicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    // Printable Latin-1 bytes stand for themselves; the others are shifted past 255, in byte order.
    const auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    int next = 256;
    for (int b = 0; b < 256; ++b) t[b] = utf8_encode(static_cast<char32_t>(printable(b) ? b : next++));
    return t;
  }();
  return table;
}

bool unicode_to_bytes(std::string_view token, std::string* bytes) {
  static const std::unordered_map<std::string, unsigned char> inverse = [] {
    std::unordered_map<std::string, unsigned char> m;
    for (int b = 0; b < 256; ++b) m.emplace(byte_to_unicode()[b], static_cast<unsigned char>(b));
    return m;
  }();
  bytes->clear();
  size_t i = 0;
  while (i < token.size()) {
    const size_t n = std::min(utf8_length(static_cast<unsigned char>(token[i])), token.size() - i);
    const auto it = inverse.find(std::string(token.substr(i, n)));
    if (it == inverse.end()) return false;
    bytes->push_back(static_cast<char>(it->second));
    i += n;
  }
  return true;
}

}  // namespace ptq::tok
