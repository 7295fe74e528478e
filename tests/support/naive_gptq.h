// A naive GPTQ packer and unpacker for the tests, transcribed from AutoGPTQ's QuantLinear.pack loop (and the
// inverse of each of its steps), independent of harness/quant/gptq_packing.*: the product is checked against
// it, and the loader tests build their packed checkpoints with it.
#pragma once

#include <cstdint>
#include <vector>

namespace ptq::test::naive_gptq {

// Values per packing unit: 32 / bits (2, 4, 8), 32 for 3 bits (three words).
int unit_values(int bits);
// One unit of values -> its words, as AutoGPTQ's loop writes them (values must fit in `bits`).
std::vector<uint32_t> pack_unit(const std::vector<uint32_t>& values, int bits);
std::vector<uint32_t> unpack_unit(const std::vector<uint32_t>& words, int bits);

// [rows, cols] row-major values packed along the rows (qweight: rows = in) or along the columns (qzeros:
// cols = out); words returned as the file stores them (int32).
std::vector<int32_t> pack_rows(const std::vector<uint32_t>& values, int64_t rows, int64_t cols, int bits);
std::vector<int32_t> pack_cols(const std::vector<uint32_t>& values, int64_t rows, int64_t cols, int bits);
std::vector<uint32_t> unpack_rows(const std::vector<int32_t>& words, int64_t rows, int64_t cols, int bits);
std::vector<uint32_t> unpack_cols(const std::vector<int32_t>& words, int64_t rows, int64_t cols, int bits);

}  // namespace ptq::test::naive_gptq
