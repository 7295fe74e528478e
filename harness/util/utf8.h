// UTF-8 validation of text inputs (issue #29): text that is not UTF-8 (Latin-1, a binary file, UTF-16)
// is refused with the byte offset of the first bad sequence instead of being tokenized into garbage.
// Torch-free (std and fmt only): the fuzz targets compile it without LibTorch. Linear, one pass.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ptq {

// Why a sequence is invalid, for messages.
struct Utf8Problem {
  size_t offset = 0;  // of the first byte of the bad sequence
  const char* why = "";
};

// The first ill-formed sequence of `s` (Unicode 15, table 3-7): stray continuation bytes, overlong forms
// (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF), code points above U+10FFFF (F4 90.., F5..FF),
// sequences cut short by a non-continuation byte or by the end. std::nullopt when `s` is valid.
std::optional<Utf8Problem> find_invalid_utf8(std::string_view s);
// The offset alone (what fuzz targets and callers that make their own message need).
std::optional<size_t> first_invalid_utf8(std::string_view s);
// A UTF-16 byte-order mark (FF FE or FE FF) at the start, or NUL bytes in at least a quarter of the first
// 4 KiB (ASCII text stored as UTF-16 is valid UTF-8 byte by byte, so the validator alone misses it).
bool looks_like_utf16(std::string_view s);
// Throws InputError "<where>: looks like UTF-16; convert it to UTF-8 (...)" or "<where>: not valid UTF-8
// at byte offset N (<why>: bytes XX YY ...)".
void require_utf8(std::string_view s, std::string_view where);

}  // namespace ptq
