// The GPTQ checkpoint format's integer packing (AutoGPTQ's QuantLinear.pack, the layout GPTQModel, vLLM,
// SGLang and transformers read), without LibTorch.
//
// Along the packed dimension, each run of b-bit unsigned values is a little-endian bit stream cut into
// 32-bit words: value k occupies bits [k*b, k*b + b) of the stream, bit j of the stream is bit j % 32 of
// word j / 32. For b = 2, 4, 8 that is 32/b whole values per word (value k of a word at bits b*k); for
// b = 3 a unit of 32 values fills 3 words and values 10 and 21 straddle two words (AutoGPTQ's three-word
// loop writes exactly this stream). A packed dimension must hold whole units: a multiple of 32/b values
// (b = 2, 4, 8) or of 32 (b = 3).
//
//   qweight [in * b / 32, out] int32: the integers of a [out, in] weight, packed along the input dimension
//   qzeros  [groups, out * b / 32] int32: the zero points, packed along the output dimension
//
// Words hold the bits as stored (int32 in the file); values are unsigned, 0 .. 2^b - 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ptq::quant::gptq {

// Whether the format defines packing for `bits` (2, 3, 4, 8).
bool packable_bits(int bits);
// Values per packing unit along a packed dimension: 32 / bits, or 32 for 3 bits.
int64_t unit_values(int bits);
// Whether `n` values pack into whole units (a multiple of unit_values(bits)).
bool packs_evenly(int64_t n, int bits);
// The number of 32-bit words `n` values take (n * bits / 32); n must pack evenly.
int64_t packed_words(int64_t n, int bits);

// qweight: `values` is [in, out] row-major (the transposed integer weight), packed along `in`:
// returns [in * bits / 32, out] row-major. std::invalid_argument when `in` does not pack evenly or a
// value exceeds 2^bits - 1.
std::vector<int32_t> pack_along_rows(const std::vector<uint8_t>& values, int64_t in, int64_t out, int bits);
std::vector<uint8_t> unpack_along_rows(const std::vector<int32_t>& words, int64_t in, int64_t out, int bits);
// qzeros: `values` is [groups, out] row-major, packed along `out`: returns [groups, out * bits / 32].
std::vector<int32_t> pack_along_cols(const std::vector<uint8_t>& values, int64_t groups, int64_t out, int bits);
std::vector<uint8_t> unpack_along_cols(const std::vector<int32_t>& words, int64_t groups, int64_t out, int bits);

// Why a dimension of `n` values cannot be packed at `bits`, or "" when it can ("768 is not a multiple of 32").
std::string unpackable_reason(int64_t n, int bits);

}  // namespace ptq::quant::gptq
