// The CPython `random` port against values printed by CPython 3.11.7 (`python3 -c ...` shown per case).
#include "harness/util/py_random.h"

#include <catch2/catch.hpp>

#include <numeric>

using ptq::PyRandom;

TEST_CASE("randint reproduces the DESIGN.md test vector (random.seed(0), randint(0, 45575))", "[unit][rng]") {
  PyRandom r(0);
  std::vector<int64_t> got;
  for (int i = 0; i < 5; ++i) got.push_back(r.randint(0, 45575));
  CHECK(got == std::vector<int64_t>{25247, 27562, 2653, 16968, 33506});
}

TEST_CASE("randint with seed 2 (OmniQuant's default calibration seed)", "[unit][rng]") {
  // random.seed(2); [random.randint(0, 2**20) for _ in range(5)]
  PyRandom r(2);
  std::vector<int64_t> got;
  for (int i = 0; i < 5; ++i) got.push_back(r.randint(0, 1 << 20));
  CHECK(got == std::vector<int64_t>{118596, 192067, 177989, 757192, 354594});
}

TEST_CASE("multi-word seeds, getrandbits(32) and a randint above 2^31", "[unit][rng]") {
  // random.seed(12345678901234); [getrandbits(32) x3], randint(0, 3*10**9)
  PyRandom r(12345678901234LL);
  CHECK(r.getrandbits(32) == 107551873u);
  CHECK(r.getrandbits(32) == 2403399316u);
  CHECK(r.getrandbits(32) == 624174316u);
  CHECK(r.randint(0, 3000000000LL) == 1830505710);
}

TEST_CASE("negative seeds use abs(seed), small ranges use few bits", "[unit][rng]") {
  // random.seed(-7); [randint(5, 9) for _ in range(8)]
  PyRandom r(-7);
  std::vector<int64_t> got;
  for (int i = 0; i < 8; ++i) got.push_back(r.randint(5, 9));
  CHECK(got == std::vector<int64_t>{7, 6, 8, 5, 5, 9, 5, 7});
  // random.seed(1); [randint(0, 1) for _ in range(16)]
  PyRandom r1(1);
  std::vector<int64_t> bits;
  for (int i = 0; i < 16; ++i) bits.push_back(r1.randint(0, 1));
  CHECK(bits == std::vector<int64_t>{0, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1});
}

TEST_CASE("ranges wider than 32 bits draw two words, low word first", "[unit][rng]") {
  // random.seed(2**40 + 3); [randint(0, 2**40) for _ in range(3)]
  PyRandom r((int64_t{1} << 40) + 3);
  CHECK(r.randint(0, int64_t{1} << 40) == 134087964622LL);
  CHECK(r.randint(0, int64_t{1} << 40) == 669935018357LL);
  CHECK(r.randint(0, int64_t{1} << 40) == 939627458066LL);
}

TEST_CASE("shuffle matches random.Random(42).shuffle", "[unit][rng]") {
  PyRandom r(42);
  std::vector<int> x(10);
  std::iota(x.begin(), x.end(), 0);
  r.shuffle(x);
  CHECK(x == std::vector<int>{7, 3, 2, 8, 5, 6, 9, 4, 0, 1});
}

TEST_CASE("an empty randint range raises like Python", "[unit][rng]") {
  PyRandom r(0);
  CHECK_THROWS_AS(r.randint(0, -1), std::invalid_argument);
  CHECK(r.getrandbits(0) == 0);
}

TEST_CASE("random() and choice() match CPython", "[unit][rng]") {
  // random.seed(7); [random.random() for _ in range(3)]
  PyRandom r(7);
  CHECK(r.random() == 0.32383276483316237);
  CHECK(r.random() == 0.15084917392450192);
  CHECK(r.random() == 0.6509344730398537);
  // random.seed(7); [random.choice('abcde') for _ in range(6)] -> c b d a a e
  PyRandom c(7);
  const std::vector<char> letters = {'a', 'b', 'c', 'd', 'e'};
  std::string got;
  for (int i = 0; i < 6; ++i) got += c.choice(letters);
  CHECK(got == "cbdaae");
}
