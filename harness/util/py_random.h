// A bit-exact port of CPython's `random` module for the calls the PTQ reference codes make:
// random.seed(int) (init_by_array over the 32-bit words of |seed|), getrandbits(k), randint(a, b)
// (= a + _randbelow(b - a + 1), rejection sampling on getrandbits(bit_length)), and shuffle.
// C4 evaluation windows and calibration windows are drawn with it, so the same seed picks the same
// windows as GPTQ/OmniQuant's Python code (checked against CPython 3.11 output in the tests).
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace ptq {

class PyRandom {
 public:
  explicit PyRandom(int64_t seed = 0) { seed_int(seed); }
  void seed_int(int64_t seed);                 // random.seed(seed) for a Python int
  uint64_t getrandbits(int k);                 // 0 <= k <= 64
  int64_t randbelow(int64_t n);                // n >= 1
  int64_t randint(int64_t a, int64_t b);       // throws std::invalid_argument on an empty range, as Python
  double random();                             // random.random(): 53-bit float in [0, 1)
  template <typename T>
  const T& choice(const std::vector<T>& v) {   // random.choice
    return v.at(static_cast<size_t>(randbelow(static_cast<int64_t>(v.size()))));
  }
  template <typename T>
  void shuffle(std::vector<T>& x) {            // random.shuffle
    for (size_t i = x.size(); i-- > 1;) std::swap(x[i], x[static_cast<size_t>(randbelow(static_cast<int64_t>(i) + 1))]);
  }

 private:
  uint32_t genrand_uint32();
  void init_genrand(uint32_t s);
  void init_by_array(const std::vector<uint32_t>& key);
  std::array<uint32_t, 624> mt_{};
  int mti_ = 625;
};

}  // namespace ptq
