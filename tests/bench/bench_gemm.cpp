// fp32 matrix products on the CPU: OpenBLAS on 1 and 2 threads against ptqbench's fixed-tile sgemm
// (util/tiled_gemm.h) on 2 threads, for a large product (4096 x 2048 x 4096) and a tiny-llama-sized one
// (512 tokens x 512 x 192). Counters: GFLOP (per second), and the fraction of C's elements whose bits differ from
// the same path on one thread (OpenBLAS's threading splits C by the thread count: nonzero; tiled: 0).
// Run with OPENBLAS_CORETYPE=Haswell for the kernels reproducible numerics pins.
#include "harness/util/tiled_gemm.h"

#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <cstring>
#include <vector>

extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc);

namespace {

void set_openblas_threads(int n) {
  using Fn = void (*)(int);
  if (const auto f = reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(n);
}

struct Gemm {
  int m, n, k;
  std::vector<float> a, b, c;
  Gemm(int m_, int n_, int k_) : m(m_), n(n_), k(k_), a(size_t(m_) * k_), b(size_t(k_) * n_), c(size_t(m_) * n_) {
    unsigned s = 1;
    for (auto* v : {&a, &b})
      for (auto& x : *v) {
        s = s * 1103515245u + 12345u;
        x = static_cast<float>((s >> 8) & 0xffff) / 32768.0f - 1.0f;
      }
  }
  // C = A B^T (LibTorch's layout for x W^T), with the tiled path on or off and `threads` threads.
  void run(bool tiled, int threads) {
    ptq::gemm::set_tiled(tiled, tiled ? threads : 1);
    set_openblas_threads(tiled ? 1 : threads);
    const float alpha = 1, beta = 0;
    sgemm_("N", "T", &m, &n, &k, &alpha, a.data(), &m, b.data(), &n, &beta, c.data(), &m);
  }
};

// range(0): 0 = OpenBLAS, 1 = tiled; range(1): threads; range(2): 0 = large, 1 = tiny-llama-sized.
void BM_Sgemm(benchmark::State& state) {
  const bool tiled = state.range(0) == 1;
  const int threads = static_cast<int>(state.range(1));
  Gemm g = state.range(2) == 0 ? Gemm(4096, 2048, 4096) : Gemm(512, 512, 192);
  g.run(tiled, 1);
  const std::vector<float> one_thread = g.c;
  for (auto _ : state) {
    g.run(tiled, threads);
    benchmark::DoNotOptimize(g.c.data());
  }
  size_t differ = 0;
  for (size_t i = 0; i < g.c.size(); ++i) differ += std::memcmp(&g.c[i], &one_thread[i], sizeof(float)) != 0;
  state.counters["GFLOP"] = benchmark::Counter(2e-9 * g.m * g.n * g.k * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);  // shown as GFLOP per second
  state.counters["differ_vs_1_thread"] = static_cast<double>(differ) / static_cast<double>(g.c.size());
  ptq::gemm::set_tiled(false, 1);
}
BENCHMARK(BM_Sgemm)
    ->ArgNames({"tiled", "threads", "tiny"})
    ->Args({0, 1, 0})->Args({0, 2, 0})->Args({1, 2, 0})
    ->Args({0, 1, 1})->Args({0, 2, 1})->Args({1, 2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
