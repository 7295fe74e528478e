#include "harness/util/parallel_tasks.h"

#include "harness/util/tiled_gemm.h"

#include <ATen/ThreadLocalState.h>

#include <exception>
#include <mutex>

namespace ptq {

void run_tasks(int64_t n, const std::function<void(int64_t)>& task) {
  const at::ThreadLocalState state;
  std::mutex m;
  std::exception_ptr error;
  gemm::for_each_task(n, [&](int64_t i) {
    try {
      const at::ThreadLocalStateGuard tls(state);
      task(i);
    } catch (...) {
      const std::lock_guard<std::mutex> lock(m);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
}

}  // namespace ptq
