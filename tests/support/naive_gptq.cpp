#include "tests/support/naive_gptq.h"

#include <stdexcept>

namespace ptq::test::naive_gptq {

int unit_values(int bits) { return bits == 3 ? 32 : 32 / bits; }

std::vector<uint32_t> pack_unit(const std::vector<uint32_t>& v, int bits) {
  if (bits != 3) {  // for j in range(i, i + 32 // bits): qweight[row] |= intweight[j] << (bits * (j - i))
    uint32_t word = 0;
    for (int j = 0; j < 32 / bits; ++j) word |= v[j] << (bits * j);
    return {word};
  }
  std::vector<uint32_t> w(3, 0);
  int i = 0;
  for (int j = i; j < i + 10; ++j) w[0] |= v[j] << (3 * (j - i));
  i += 10;
  w[0] |= v[i] << 30;  // uint32: only the low 2 bits of value 10 remain
  w[1] |= (v[i] >> 2) & 1;
  i += 1;
  for (int j = i; j < i + 10; ++j) w[1] |= v[j] << (3 * (j - i) + 1);
  i += 10;
  w[1] |= v[i] << 31;  // the low bit of value 21
  w[2] |= (v[i] >> 1) & 0x3;
  i += 1;
  for (int j = i; j < i + 10; ++j) w[2] |= v[j] << (3 * (j - i) + 2);
  return w;
}

std::vector<uint32_t> unpack_unit(const std::vector<uint32_t>& w, int bits) {
  const uint32_t mask = (1u << bits) - 1;
  std::vector<uint32_t> v;
  if (bits != 3) {
    for (int j = 0; j < 32 / bits; ++j) v.push_back((w[0] >> (bits * j)) & mask);
    return v;
  }
  for (int j = 0; j < 10; ++j) v.push_back((w[0] >> (3 * j)) & 7);
  v.push_back(((w[0] >> 30) & 3) | ((w[1] & 1) << 2));
  for (int j = 0; j < 10; ++j) v.push_back((w[1] >> (3 * j + 1)) & 7);
  v.push_back(((w[1] >> 31) & 1) | ((w[2] & 3) << 1));
  for (int j = 0; j < 10; ++j) v.push_back((w[2] >> (3 * j + 2)) & 7);
  return v;
}

namespace {

// Packs along a line of `n` values read by `at(k)`; word w of the line goes to `put(w, word)`.
template <class At, class Put>
void pack_line(int64_t n, int bits, At at, Put put) {
  const int u = unit_values(bits), words = u * bits / 32;
  if (n % u != 0) throw std::invalid_argument("naive_gptq: a line does not hold whole units");
  for (int64_t unit = 0; unit < n / u; ++unit) {
    std::vector<uint32_t> v;
    for (int j = 0; j < u; ++j) v.push_back(at(unit * u + j));
    const auto w = pack_unit(v, bits);
    for (int k = 0; k < words; ++k) put(unit * words + k, w[static_cast<size_t>(k)]);
  }
}

template <class At, class Put>
void unpack_line(int64_t n, int bits, At at, Put put) {
  const int u = unit_values(bits), words = u * bits / 32;
  for (int64_t unit = 0; unit < n / u; ++unit) {
    std::vector<uint32_t> w;
    for (int k = 0; k < words; ++k) w.push_back(at(unit * words + k));
    const auto v = unpack_unit(w, bits);
    for (int j = 0; j < u; ++j) put(unit * u + j, v[static_cast<size_t>(j)]);
  }
}

size_t ix(int64_t r, int64_t c, int64_t cols) { return static_cast<size_t>(r * cols + c); }

}  // namespace

std::vector<int32_t> pack_rows(const std::vector<uint32_t>& values, int64_t rows, int64_t cols, int bits) {
  std::vector<int32_t> out(static_cast<size_t>(rows * bits / 32 * cols), 0);
  for (int64_t c = 0; c < cols; ++c)
    pack_line(rows, bits, [&](int64_t k) { return values[ix(k, c, cols)]; },
              [&](int64_t w, uint32_t word) { out[ix(w, c, cols)] = static_cast<int32_t>(word); });
  return out;
}

std::vector<int32_t> pack_cols(const std::vector<uint32_t>& values, int64_t rows, int64_t cols, int bits) {
  const int64_t wcols = cols * bits / 32;
  std::vector<int32_t> out(static_cast<size_t>(rows * wcols), 0);
  for (int64_t r = 0; r < rows; ++r)
    pack_line(cols, bits, [&](int64_t k) { return values[ix(r, k, cols)]; },
              [&](int64_t w, uint32_t word) { out[ix(r, w, wcols)] = static_cast<int32_t>(word); });
  return out;
}

std::vector<uint32_t> unpack_rows(const std::vector<int32_t>& words, int64_t rows, int64_t cols, int bits) {
  std::vector<uint32_t> out(static_cast<size_t>(rows * cols), 0);
  for (int64_t c = 0; c < cols; ++c)
    unpack_line(rows, bits, [&](int64_t w) { return static_cast<uint32_t>(words[ix(w, c, cols)]); },
                [&](int64_t k, uint32_t v) { out[ix(k, c, cols)] = v; });
  return out;
}

std::vector<uint32_t> unpack_cols(const std::vector<int32_t>& words, int64_t rows, int64_t cols, int bits) {
  const int64_t wcols = cols * bits / 32;
  std::vector<uint32_t> out(static_cast<size_t>(rows * cols), 0);
  for (int64_t r = 0; r < rows; ++r)
    unpack_line(cols, bits, [&](int64_t w) { return static_cast<uint32_t>(words[ix(r, w, wcols)]); },
                [&](int64_t k, uint32_t v) { out[ix(r, k, cols)] = v; });
  return out;
}

}  // namespace ptq::test::naive_gptq
