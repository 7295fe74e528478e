#include "harness/util/tiled_gemm.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ptq::gemm {

namespace {

using SgemmFn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                         const int*, const float*, const int*, const float*, float*, const int*);

// The next sgemm_ after this executable in the link map: the system BLAS LibTorch was linked against.
SgemmFn real_sgemm() {
  static const SgemmFn fn = [] {
    auto f = reinterpret_cast<SgemmFn>(::dlsym(RTLD_NEXT, "sgemm_"));
    if (!f) {  // no BLAS loaded after us: nothing can compute the product, and nothing sensible can continue
      std::fprintf(stderr, "ptqbench: internal error: no BLAS library provides sgemm_ (%s)\n", ::dlerror());
      std::abort();
    }
    return f;
  }();
  return fn;
}

std::atomic<int64_t> g_calls{0};
std::atomic<bool> g_tiled{false};

// A pool of workers that take tiles of the current job from a shared counter; the calling thread works
// too. Tiles never overlap in C, so which thread computes which tile does not matter.
class TilePool {
 public:
  ~TilePool() { resize(1); }

  void resize(int threads) {
    std::lock_guard<std::mutex> one_job(job_mutex_);
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
    threads_ = threads;
  }
  int threads() const { return threads_; }

  // Runs tile(0..n-1). A second caller while a job runs (another thread of the process) computes its
  // tiles itself: the same tiles, so the same numbers.
  void run(int64_t n, const std::function<void(int64_t)>& tile) {
    std::unique_lock<std::mutex> one_job(job_mutex_, std::try_to_lock);
    if (!one_job.owns_lock() || workers_.empty() || n == 1) {
      for (int64_t i = 0; i < n; ++i) tile(i);
      return;
    }
    Job job{&tile, n};
    {
      std::lock_guard<std::mutex> lk(m_);
      job_ = &job;
      finished_ = 0;
      ++generation_;
    }
    wake_.notify_all();
    const int64_t mine = take_tiles(job);
    std::unique_lock<std::mutex> lk(m_);
    finished_ += mine;
    // No worker may still hold a pointer to `job` when it goes out of scope.
    done_.wait(lk, [&] { return finished_ == n && active_ == 0; });
    job_ = nullptr;
  }

 private:
  struct Job {
    const std::function<void(int64_t)>* tile;
    int64_t total;
    std::atomic<int64_t> next{0};
  };

  static int64_t take_tiles(Job& job) {
    int64_t count = 0;
    for (int64_t i; (i = job.next.fetch_add(1)) < job.total; ++count) (*job.tile)(i);
    return count;
  }

  void work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      wake_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      Job* job = job_;
      if (job == nullptr) continue;
      ++active_;
      lk.unlock();
      const int64_t mine = take_tiles(*job);
      lk.lock();
      finished_ += mine;
      --active_;
      if (active_ == 0 && finished_ == job->total) done_.notify_one();
    }
  }

  std::mutex job_mutex_;  // one job at a time
  std::mutex m_;          // guards everything below
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  Job* job_ = nullptr;
  int64_t finished_ = 0;
  int active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  int threads_ = 1;
};

TilePool& pool() {
  static TilePool p;
  return p;
}

// One BLAS call per tile of C (column-major m x n, as BLAS sees it). Offsets follow the storage of op(A)
// and op(B): A is m x k ('N') or k x m ('T'); B is k x n ('N') or n x k ('T').
void tiled_sgemm(const char* ta, const char* tb, int m, int n, int k, const float* alpha, const float* a, int lda,
                 const float* b, int ldb, const float* beta, float* c, int ldc) {
  const int tiles_n = (n + kTileN - 1) / kTileN;
  const bool b_trans = *tb != 'N' && *tb != 'n';
  pool().run(tiles_n, [&](int64_t t) {
    const int j0 = static_cast<int>(t) * kTileN, nj = std::min(kTileN, n - j0);
    const float* b_tile = b_trans ? b + j0 : b + static_cast<int64_t>(j0) * ldb;
    real_sgemm()(ta, tb, &m, &nj, &k, alpha, a, &lda, b_tile, &ldb, beta, c + static_cast<int64_t>(j0) * ldc, &ldc);
  });
}

}  // namespace

void set_tiled(bool on, int threads) {
  pool().resize(on ? std::max(1, threads) : 1);
  g_tiled = on;
}
bool tiled() { return g_tiled; }
int tile_threads() { return pool().threads(); }
int64_t calls_seen() { return g_calls; }

std::string real_blas_library() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(real_sgemm()), &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

void for_each_task(int64_t n, const std::function<void(int64_t)>& task) { pool().run(n, task); }

nlohmann::json describe() {
  return {{"tiled", tiled()}, {"threads", tile_threads()}, {"tile", {"all", kTileN}}, {"small_flops", kSmallFlops}};
}

}  // namespace ptq::gemm

// The interposed symbol (LibTorch's declaration: aten/src/ATen/native/CPUBlas.cpp).
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
                       const float* beta, float* c, const int* ldc) {
  using namespace ptq::gemm;
  g_calls.fetch_add(1, std::memory_order_relaxed);
  const int64_t flops = int64_t{*m} * *n * *k;
  if (!g_tiled || flops < kSmallFlops || *n <= kTileN) {
    real_sgemm()(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  tiled_sgemm(transa, transb, *m, *n, *k, alpha, a, *lda, b, *ldb, beta, c, *ldc);
}
