// The UTF-8 validator every text input goes through, checked against a naive decoder written here from
// the definition (Unicode 15, §3.9 D92): decode one scalar value at a time, refuse what does not
// round-trip. The two must agree on whether the text is valid and, if not, on the first bad offset.
#include "harness/util/utf8.h"
#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>

namespace {

// The offset of the first ill-formed sequence, or size when there is none.
size_t naive_first_invalid(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t b = s[i];
    const size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n) return i;
    uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    const uint32_t min_of_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto found = ptq::first_invalid_utf8(ptq::fuzz::as_text(data, size));
  const size_t expected = naive_first_invalid(data, size);
  const size_t got = found ? *found : size;
  if (got != expected) {
    std::fprintf(stderr, "fuzz_utf8: validator says %zu, the naive decoder %zu (of %zu bytes)\n", got, expected, size);
    std::abort();
  }
  ptq::fuzz::accepts([&] { ptq::require_utf8(ptq::fuzz::as_text(data, size), "fuzz input"); });
  return 0;
}
