// UTF-8 and Unicode helpers the tokenizers share: validation, code-point walks, the normalization forms
// (utf8proc, from Debian) and GPT-2's byte-to-unicode map of byte-level BPE vocabularies.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ptq::tok {

// Byte offset of the first invalid UTF-8 sequence in `s`, or npos when `s` is valid UTF-8.
size_t first_invalid_utf8(std::string_view s);
// InputError "<what> is not valid UTF-8 (byte offset N, byte 0xXX)" when `s` is not UTF-8.
void require_utf8(std::string_view s, std::string_view what);

// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for a stray continuation byte).
inline size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}
std::string utf8_encode(char32_t cp);

// Unicode normalization forms of valid UTF-8 text ("NFC", "NFD", "NFKC", "NFKD").
std::string normalize_unicode(std::string_view text, std::string_view form);
std::string lowercase_unicode(std::string_view text);

// GPT-2's reversible byte <-> printable-character map: byte-level BPE vocabularies spell every byte with
// the UTF-8 of byte_to_unicode()[b] ("Ġ" for a space).
const std::array<std::string, 256>& byte_to_unicode();
// The bytes a byte-level token spells; false when it holds a character outside the map.
bool unicode_to_bytes(std::string_view token, std::string* bytes);

}  // namespace ptq::tok
