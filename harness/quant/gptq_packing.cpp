#include "harness/quant/gptq_packing.h"

#include <fmt/format.h>

#include <stdexcept>

namespace ptq::quant::gptq {

bool packable_bits(int bits) { return bits == 2 || bits == 3 || bits == 4 || bits == 8; }

int64_t unit_values(int bits) {
  if (!packable_bits(bits)) throw std::invalid_argument(fmt::format("gptq packing: {} bits is not 2, 3, 4 or 8", bits));
  return bits == 3 ? 32 : 32 / bits;
}

bool packs_evenly(int64_t n, int bits) { return n > 0 && n % unit_values(bits) == 0; }

int64_t packed_words(int64_t n, int bits) {
  if (!packs_evenly(n, bits)) throw std::invalid_argument("gptq packing: " + unpackable_reason(n, bits));
  return n * bits / 32;
}

std::string unpackable_reason(int64_t n, int bits) {
  if (!packable_bits(bits)) return fmt::format("{} bits has no packed layout (2, 3, 4 or 8)", bits);
  if (packs_evenly(n, bits)) return "";
  return fmt::format("{} is not a multiple of {} ({}-bit values pack {} to {} 32-bit word{})", n, unit_values(bits),
                     bits, unit_values(bits), bits == 3 ? 3 : 1, bits == 3 ? "s" : "");
}

namespace {

// One stream of `n` values: value k at stream bits [k*bits, k*bits + bits). `value(k)` reads the k-th
// value, `word(w)` is the w-th word (zero-initialised by the caller).
template <class ValueAt, class WordAt>
void pack_stream(int64_t n, int bits, ValueAt value, WordAt word) {
  const uint32_t mask = (uint32_t{1} << bits) - 1;
  for (int64_t k = 0; k < n; ++k) {
    const uint32_t v = value(k);
    if (v > mask) throw std::invalid_argument(fmt::format("gptq packing: value {} does not fit in {} bits", v, bits));
    const int64_t bit = k * bits;
    const int off = static_cast<int>(bit % 32);
    uint32_t& lo = word(bit / 32);
    lo |= v << off;
    if (off + bits > 32) word(bit / 32 + 1) |= v >> (32 - off);  // 3 bits: straddles two words
  }
}

template <class WordAt, class Store>
void unpack_stream(int64_t n, int bits, WordAt word, Store store) {
  const uint32_t mask = (uint32_t{1} << bits) - 1;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t bit = k * bits;
    const int off = static_cast<int>(bit % 32);
    uint32_t v = word(bit / 32) >> off;
    if (off + bits > 32) v |= word(bit / 32 + 1) << (32 - off);
    store(k, static_cast<uint8_t>(v & mask));
  }
}

void check_size(size_t have, int64_t rows, int64_t cols, const char* what) {
  if (rows < 0 || cols < 0 || have != static_cast<size_t>(rows * cols))
    throw std::invalid_argument(fmt::format("gptq packing: {} holds {} entries, expected {} x {}", what, have, rows, cols));
}

}  // namespace

// Along rows every column is its own stream, and all columns share the bit positions: row k of the values
// goes to the same word row and offset in every column, so the loops run over rows outside and contiguous
// columns inside (a 7B model's largest linear packs or unpacks in tens of milliseconds, not half a second).
std::vector<int32_t> pack_along_rows(const std::vector<uint8_t>& values, int64_t in, int64_t out, int bits) {
  check_size(values.size(), in, out, "the integer weight");
  const int64_t words = packed_words(in, bits);
  const uint32_t mask = (uint32_t{1} << bits) - 1;
  std::vector<uint32_t> packed(static_cast<size_t>(words * out), 0);
  for (int64_t k = 0; k < in; ++k) {
    const int64_t bit = k * bits;
    const int off = static_cast<int>(bit % 32);
    const uint8_t* v = values.data() + k * out;
    uint32_t* lo = packed.data() + (bit / 32) * out;
    for (int64_t o = 0; o < out; ++o) {
      if (v[o] > mask) throw std::invalid_argument(fmt::format("gptq packing: value {} does not fit in {} bits", v[o], bits));
      lo[o] |= uint32_t{v[o]} << off;
    }
    if (off + bits > 32)  // 3 bits: the value straddles two words
      for (int64_t o = 0; o < out; ++o) lo[out + o] |= uint32_t{v[o]} >> (32 - off);
  }
  return {packed.begin(), packed.end()};
}

std::vector<uint8_t> unpack_along_rows(const std::vector<int32_t>& words, int64_t in, int64_t out, int bits) {
  const int64_t rows = packed_words(in, bits);
  check_size(words.size(), rows, out, "qweight");
  const uint32_t mask = (uint32_t{1} << bits) - 1;
  std::vector<uint8_t> values(static_cast<size_t>(in * out));
  for (int64_t k = 0; k < in; ++k) {
    const int64_t bit = k * bits;
    const int off = static_cast<int>(bit % 32);
    const int32_t* lo = words.data() + (bit / 32) * out;
    uint8_t* v = values.data() + k * out;
    if (off + bits <= 32) {
      for (int64_t o = 0; o < out; ++o) v[o] = static_cast<uint8_t>((static_cast<uint32_t>(lo[o]) >> off) & mask);
    } else {
      for (int64_t o = 0; o < out; ++o)
        v[o] = static_cast<uint8_t>(((static_cast<uint32_t>(lo[o]) >> off) | (static_cast<uint32_t>(lo[out + o]) << (32 - off))) & mask);
    }
  }
  return values;
}

std::vector<int32_t> pack_along_cols(const std::vector<uint8_t>& values, int64_t groups, int64_t out, int bits) {
  check_size(values.size(), groups, out, "the zero points");
  const int64_t words = packed_words(out, bits);
  std::vector<uint32_t> packed(static_cast<size_t>(groups * words), 0);
  for (int64_t g = 0; g < groups; ++g) {
    const uint8_t* row = values.data() + g * out;
    uint32_t* dst = packed.data() + g * words;
    pack_stream(
        out, bits, [&](int64_t k) { return uint32_t{row[k]}; }, [&](int64_t w) -> uint32_t& { return dst[w]; });
  }
  return {packed.begin(), packed.end()};
}

std::vector<uint8_t> unpack_along_cols(const std::vector<int32_t>& words, int64_t groups, int64_t out, int bits) {
  const int64_t per_row = packed_words(out, bits);
  check_size(words.size(), groups, per_row, "qzeros");
  std::vector<uint8_t> values(static_cast<size_t>(groups * out));
  for (int64_t g = 0; g < groups; ++g) {
    const int32_t* src = words.data() + g * per_row;
    uint8_t* row = values.data() + g * out;
    unpack_stream(
        out, bits, [&](int64_t w) { return static_cast<uint32_t>(src[w]); }, [&](int64_t k, uint8_t v) { row[k] = v; });
  }
  return values;
}

}  // namespace ptq::quant::gptq
