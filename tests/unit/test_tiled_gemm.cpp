// ptqbench's sgemm_ (util/tiled_gemm.h): in tiled mode, the same bits for any thread count, for every
// transpose combination and for shapes with partial edge tiles; and the right product, against a naive
// double-precision loop written here.
#include "harness/util/tiled_gemm.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc);

namespace {

struct Problem {
  int m, n, k;
  bool ta, tb;
  std::vector<float> a, b, c0;  // column-major storage of op(A)'s source, op(B)'s source, C's start
};

Problem make_problem(int m, int n, int k, bool ta, bool tb) {
  Problem p{m, n, k, ta, tb, {}, {}, {}};
  unsigned s = 12345u + static_cast<unsigned>(m * 7 + n * 3 + k);
  const auto next = [&] {
    s = s * 1103515245u + 12345u;
    return static_cast<float>((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  };
  p.a.resize(static_cast<size_t>(m) * k);
  p.b.resize(static_cast<size_t>(k) * n);
  p.c0.resize(static_cast<size_t>(m) * n);
  for (auto& x : p.a) x = next();
  for (auto& x : p.b) x = next();
  for (auto& x : p.c0) x = next();
  return p;
}

// C = alpha op(A) op(B) + beta C through sgemm_ with `threads` tile workers (0: untiled, one call).
std::vector<float> product(const Problem& p, int threads, float alpha, float beta) {
  ptq::gemm::set_tiled(threads > 0, std::max(threads, 1));
  std::vector<float> c = p.c0;
  const int lda = p.ta ? p.k : p.m, ldb = p.tb ? p.n : p.k;
  sgemm_(p.ta ? "T" : "N", p.tb ? "T" : "N", &p.m, &p.n, &p.k, &alpha, p.a.data(), &lda, p.b.data(), &ldb, &beta,
         c.data(), &p.m);
  return c;
}

double naive_element(const Problem& p, int i, int j, float alpha, float beta) {
  double sum = 0;
  for (int l = 0; l < p.k; ++l) {
    const double a = p.ta ? p.a[static_cast<size_t>(i) * p.k + l] : p.a[static_cast<size_t>(l) * p.m + i];
    const double b = p.tb ? p.b[static_cast<size_t>(l) * p.n + j] : p.b[static_cast<size_t>(j) * p.k + l];
    sum += a * b;
  }
  return alpha * sum + beta * p.c0[static_cast<size_t>(j) * p.m + i];
}

}  // namespace

TEST_CASE("tiled sgemm: the same bits with 1, 2 and 3 threads, and the right product", "[unit][numerics]") {
  const bool was_tiled = ptq::gemm::tiled();
  const int was_threads = ptq::gemm::tile_threads();
  // Shapes with several tiles and partial edge tiles in both directions, and one below the tiling size.
  const int shapes[][3] = {{600, 520, 96}, {257, 1024, 48}, {1000, 300, 200}, {64, 64, 64}};
  for (const auto& s : shapes)
    for (const bool ta : {false, true})
      for (const bool tb : {false, true}) {
        INFO("m " << s[0] << " n " << s[1] << " k " << s[2] << " ta " << ta << " tb " << tb);
        const Problem p = make_problem(s[0], s[1], s[2], ta, tb);
        const std::vector<float> one = product(p, 1, 0.5f, 0.25f);
        for (const int threads : {2, 3}) {
          const std::vector<float> many = product(p, threads, 0.5f, 0.25f);
          CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0);
        }
        double worst = 0;
        for (int i = 0; i < p.m; i += 7)
          for (int j = 0; j < p.n; j += 5)
            worst = std::max(worst, std::fabs(one[static_cast<size_t>(j) * p.m + i] - naive_element(p, i, j, 0.5f, 0.25f)));
        CHECK(worst < 1e-4 * p.k);
      }
  ptq::gemm::set_tiled(was_tiled, was_threads);
}

// Issue #25: with 256 x 256 tiles the reproducible digits were those of no plain program (splitting m,
// or n off a multiple of 12, changes Haswell OpenBLAS's bits). Column tiles of a multiple of 12 give the
// bits of one untiled single-threaded call: the reference code's, run with OPENBLAS_NUM_THREADS=1.
TEST_CASE("tiled sgemm equals one untiled single-threaded OpenBLAS call bit for bit", "[unit][numerics]") {
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
  if (core == nullptr || std::string(core) != "Haswell" || threads == nullptr || std::string(threads) != "1") {
    WARN("needs OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 (the test environment): skipped");
    return;
  }
  const bool was_tiled = ptq::gemm::tiled();
  const int was_threads = ptq::gemm::tile_threads();
  const int shapes[][3] = {{600, 520, 96}, {257, 1024, 48}, {1000, 300, 200}, {64, 3000, 700}};
  for (const auto& s : shapes)
    for (const bool ta : {false, true})
      for (const bool tb : {false, true}) {
        INFO("m " << s[0] << " n " << s[1] << " k " << s[2] << " ta " << ta << " tb " << tb);
        const Problem p = make_problem(s[0], s[1], s[2], ta, tb);
        const std::vector<float> tiled = product(p, 2, 0.5f, 0.25f), plain = product(p, 0, 0.5f, 0.25f);
        CHECK(std::memcmp(tiled.data(), plain.data(), plain.size() * sizeof(float)) == 0);
      }
  ptq::gemm::set_tiled(was_tiled, was_threads);
}
