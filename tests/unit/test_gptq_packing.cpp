// harness/quant/gptq_packing.h against a naive transcription of AutoGPTQ's QuantLinear.pack loop
// (tests/support/naive_gptq.h) and against words derived by hand from the format's definition.
#include "harness/quant/gptq_packing.h"
#include "tests/support/naive_gptq.h"

#include <catch2/catch.hpp>

#include <random>
#include <stdexcept>

namespace gptq = ptq::quant::gptq;
namespace naive = ptq::test::naive_gptq;

namespace {

std::vector<uint8_t> random_values(size_t n, int bits, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, (1 << bits) - 1);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(d(rng));
  return v;
}

std::vector<uint32_t> widen(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

std::vector<uint32_t> bits_of(const std::vector<int32_t>& w) {
  std::vector<uint32_t> out;
  for (const int32_t x : w) out.push_back(static_cast<uint32_t>(x));
  return out;
}

}  // namespace

TEST_CASE("gptq packing equals AutoGPTQ's pack loop on random values for 2 3 4 and 8 bits", "[unit][gptq_pack]") {
  for (const int bits : {2, 3, 4, 8}) {
    const int64_t unit = naive::unit_values(bits);
    for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{unit, 1}, {2 * unit, 5}, {3 * unit, 32}}) {
      INFO("bits " << bits << ", " << rows << " x " << cols);
      const auto values = random_values(static_cast<size_t>(rows * cols), bits, static_cast<uint32_t>(bits * 1000 + rows + cols));
      // Along the rows (qweight: [in, out] values -> [in * bits / 32, out] words).
      const auto q = gptq::pack_along_rows(values, rows, cols, bits);
      CHECK(q == naive::pack_rows(widen(values), rows, cols, bits));
      CHECK(q.size() == static_cast<size_t>(rows * bits / 32 * cols));
      CHECK(widen(gptq::unpack_along_rows(q, rows, cols, bits)) == widen(values));
      CHECK(naive::unpack_rows(q, rows, cols, bits) == widen(values));
      // Along the columns (qzeros: [groups, out] values -> [groups, out * bits / 32] words): cols x rows.
      const auto z = gptq::pack_along_cols(values, cols, rows, bits);
      CHECK(z == naive::pack_cols(widen(values), cols, rows, bits));
      CHECK(widen(gptq::unpack_along_cols(z, cols, rows, bits)) == widen(values));
      CHECK(naive::unpack_cols(z, cols, rows, bits) == widen(values));
    }
  }
}

TEST_CASE("gptq packing: words derived by hand from the format", "[unit][gptq_pack]") {
  // 4 bits: value k at bits 4k of the word.
  CHECK(bits_of(gptq::pack_along_rows({1, 2, 3, 4, 5, 6, 7, 8}, 8, 1, 4)) == std::vector<uint32_t>{0x87654321u});
  // 8 bits: bytes in order, little-endian.
  CHECK(bits_of(gptq::pack_along_rows({1, 2, 3, 4}, 4, 1, 8)) == std::vector<uint32_t>{0x04030201u});
  CHECK(bits_of(gptq::pack_along_rows({0xff, 0, 0, 0x80}, 4, 1, 8)) == std::vector<uint32_t>{0x800000ffu});
  // 2 bits: 0, 1, 2, 3 repeated = 0b11100100 per byte.
  std::vector<uint8_t> twos;
  for (int k = 0; k < 16; ++k) twos.push_back(static_cast<uint8_t>(k % 4));
  CHECK(bits_of(gptq::pack_along_rows(twos, 16, 1, 2)) == std::vector<uint32_t>{0xe4e4e4e4u});
  // 3 bits: value 10 = 0b101 straddles words 0 and 1 (low two bits 01 at bits 30-31, bit 2 at bit 0 of word 1);
  // value 21 = 0b110 straddles words 1 and 2 (bit 0 = 0 at bit 31, bits 1-2 = 11 at bits 0-1 of word 2).
  std::vector<uint8_t> threes(32, 0);
  threes[10] = 5;
  CHECK(bits_of(gptq::pack_along_rows(threes, 32, 1, 3)) == std::vector<uint32_t>{0x40000000u, 0x1u, 0x0u});
  threes[10] = 0;
  threes[21] = 6;
  CHECK(bits_of(gptq::pack_along_rows(threes, 32, 1, 3)) == std::vector<uint32_t>{0x0u, 0x0u, 0x3u});
  threes[21] = 0;
  threes[0] = 7, threes[11] = 7, threes[22] = 7, threes[31] = 7;  // first value of each word, and the last
  CHECK(bits_of(gptq::pack_along_rows(threes, 32, 1, 3)) == std::vector<uint32_t>{0x7u, 0xeu, 0xe000001cu});
  CHECK(bits_of(gptq::pack_along_rows(std::vector<uint8_t>(32, 7), 32, 1, 3)) ==
        std::vector<uint32_t>{0xffffffffu, 0xffffffffu, 0xffffffffu});
  // The same words come out of the naive transcription.
  CHECK(naive::pack_unit({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 3) ==
        std::vector<uint32_t>{0x40000000u, 0x1u, 0x0u});
  // Along the columns: qzeros of 8 output channels at 4 bits in one word per group row.
  CHECK(bits_of(gptq::pack_along_cols({1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1}, 2, 8, 4)) ==
        std::vector<uint32_t>{0x87654321u, 0x12345678u});
  CHECK(gptq::unpack_along_rows({static_cast<int32_t>(0x87654321u)}, 8, 1, 4) == std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8});
}

TEST_CASE("gptq packing refuses widths that do not pack and values too large", "[unit][gptq_pack]") {
  CHECK_THROWS_AS(gptq::pack_along_rows(std::vector<uint8_t>(12, 0), 12, 1, 4), std::invalid_argument);  // 12 % 8
  CHECK_THROWS_AS(gptq::pack_along_rows(std::vector<uint8_t>(16, 0), 16, 1, 3), std::invalid_argument);  // 16 % 32
  CHECK_THROWS_AS(gptq::pack_along_cols(std::vector<uint8_t>(6, 0), 1, 6, 2), std::invalid_argument);    // 6 % 16
  CHECK_THROWS_AS(gptq::pack_along_rows(std::vector<uint8_t>(8, 0), 8, 1, 5), std::invalid_argument);    // no 5-bit layout
  std::vector<uint8_t> big(8, 0);
  big[3] = 16;
  CHECK_THROWS_AS(gptq::pack_along_rows(big, 8, 1, 4), std::invalid_argument);
  std::vector<uint8_t> big3(32, 0);
  big3[10] = 8;
  CHECK_THROWS_AS(gptq::pack_along_rows(big3, 32, 1, 3), std::invalid_argument);
  CHECK_THROWS_AS(gptq::unpack_along_rows(std::vector<int32_t>(3, 0), 16, 1, 4), std::invalid_argument);  // 16 values = 2 words
  CHECK(gptq::unpackable_reason(768, 3) == "");
  CHECK_FALSE(gptq::unpackable_reason(100, 3).empty());
  CHECK(gptq::packed_words(96, 3) == 9);
  CHECK(gptq::packed_words(64, 4) == 8);
}
