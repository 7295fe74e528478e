// The get_c4 window loop against CPython (values from tests/reference/c4_windows.py).
#include "harness/data/c4_windows.h"
#include "harness/data/calibration.h"
#include "harness/util/errors.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <sstream>

using Catch::Matchers::Contains;

namespace {

std::vector<std::string> corpus(bool safe) {
  std::vector<std::string> docs;
  for (int i = 0; i < 40; ++i) {
    int n = (i * 7) % 23 + 1;
    if (safe && n == 15) n = 30;
    std::string d;
    for (int k = 0; k < n; ++k) d += fmt::format("{}w{}_{}", k ? " " : "", i, k);
    docs.push_back(d);
  }
  return docs;
}

std::vector<int32_t> toy_tokenize(const std::string& text) {
  std::vector<int32_t> ids = {1};
  std::istringstream in(text);
  for (std::string w; in >> w;) ids.push_back(static_cast<int32_t>(w.size()));
  return ids;
}

std::vector<std::pair<int64_t, int64_t>> picks(int64_t seed) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& w : ptq::eval::sample_doc_windows(corpus(true), toy_tokenize, 6, 16, seed)) {
    out.emplace_back(w.doc, w.start);
    CHECK(w.ids.size() == 16);
    const auto full = toy_tokenize(corpus(true)[w.doc]);
    CHECK(std::vector<int32_t>(full.begin() + w.start, full.begin() + w.start + 16) == w.ids);
  }
  return out;
}

}  // namespace

TEST_CASE("document windows match CPython's picks", "[unit][c4]") {
  CHECK(picks(0) == std::vector<std::pair<int64_t, int64_t>>{{26, 0}, {16, 4}, {25, 14}, {19, 3}, {22, 0}, {32, 0}});
  CHECK(picks(2) == std::vector<std::pair<int64_t, int64_t>>{{3, 0}, {19, 2}, {13, 0}, {25, 12}, {32, 1}, {32, 1}});
}

TEST_CASE("a qualifying document of exactly seqlen tokens fails as in the reference", "[unit][c4]") {
  CHECK_THROWS_WITH(ptq::eval::sample_doc_windows(corpus(false), toy_tokenize, 6, 16, 0),
                    Contains("exactly 16 tokens"));
}

TEST_CASE("no long-enough document is an error, not an endless loop", "[unit][c4]") {
  CHECK_THROWS_WITH(ptq::eval::sample_doc_windows(corpus(true), toy_tokenize, 1, 1000, 0),
                    Contains("no document has at least 1000 tokens"));
}

TEST_CASE("wikitext2 calibration starts = randint(0, numel - seqlen - 1) per window", "[unit][calibration]") {
  // random.seed(5); [random.randint(0, 1000 - 8 - 1) for _ in range(6)]
  CHECK(ptq::eval::sample_stream_starts(1000, 6, 8, 5) == std::vector<int64_t>{637, 261, 759, 367, 814, 707});
  CHECK_THROWS_AS(ptq::eval::sample_stream_starts(8, 1, 8, 0), ptq::InputError);
}
