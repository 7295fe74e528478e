// Independent pieces of one computation - attention heads, calibration samples - run side by side on the
// reproducible mode's workers (util/tiled_gemm.h), with each piece computed exactly as it would be alone:
// a GEMM inside a task runs its tiles on the task's thread (the same tiles, the same numbers), ATen's own
// ops are single-threaded in that mode anyway. So the results are bit-identical for any thread count,
// while in reproducible mode - where ATen runs one thread per op - the cores do get used. In native mode
// (one worker) the tasks run in order on the calling thread, each op with ATen's threads.
#pragma once

#include <cstdint>
#include <functional>

namespace ptq {

// Runs task(0..n-1). Each worker takes the caller's thread-local state (grad mode, inference mode,
// dispatch keys, profiler); tasks must write disjoint outputs. An exception in a task is rethrown here,
// after every task ended (the first one, if several threw).
void run_tasks(int64_t n, const std::function<void(int64_t)>& task);

}  // namespace ptq
