// ptqbench's definition of sgemm_, the Fortran BLAS symbol through which LibTorch computes every fp32
// matrix product on the CPU (forward and backward). The executables export it (CMake: the
// --export-dynamic-symbol link option of ptqbench_core), so the dynamic linker binds LibTorch's calls to
// it ahead of the system BLAS, which it then calls itself.
//  - native mode: each call is forwarded unchanged (one branch of overhead);
//  - reproducible mode: C is cut into column tiles (all m rows, kTileN columns) whose sizes depend only
//    on the matrix shape, and each tile is one single-threaded OpenBLAS call, run on a pool of threads.
//    Every element of C is then computed by the same kernel over the same tile whatever the thread
//    count; OpenBLAS's own threading splits C by the thread count and rounds differently at tile edges
//    (1 vs 2 threads differ in most elements). Single-threaded Haswell OpenBLAS gives an element other
//    bits when m is split, or when n is split off a multiple of 12 (its driver feeds the kernel 12-column
//    chunks), so column tiles of a multiple of 12 make the tiled product bit-identical to one untiled
//    single-threaded call - the digits of a plain single-threaded program such as the reference code run
//    with OPENBLAS_NUM_THREADS=1 (issue #25: the 256 x 256 tiles gave RTN W4A4 177.4326 where the
//    single-threaded reference gives 177.0452).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace ptq::gemm {

// Tiles of C (column-major, as BLAS sees it): all rows x kTileN columns (a multiple of 12, see above);
// products with fewer than kSmallFlops multiply-adds, or at most kTileN columns, run as one call.
constexpr int kTileN = 264;
constexpr int64_t kSmallFlops = int64_t{1} << 21;

// Turns tiling on with `threads` >= 1 workers (the caller counts as one), or off.
void set_tiled(bool on, int threads);
bool tiled();
int tile_threads();

// sgemm_ calls that went through this definition since the process started: the check that LibTorch's
// calls really reach it (a LibTorch that carries its BLAS inside would bypass it).
int64_t calls_seen();
// The shared object the real sgemm_ lives in ("" when none was found).
std::string real_blas_library();

// Runs task(0..n-1) on the same pool of workers (reproducible mode; otherwise on the calling thread).
// Tasks must write disjoint outputs; sgemm_ calls inside a task run their tiles on that task's thread
// (the same tiles, so the same numbers). Used to run independent attention heads side by side
// (model/attention_core.h).
void for_each_task(int64_t n, const std::function<void(int64_t)>& task);

nlohmann::json describe();  // {"tiled", "threads", "tile": ["all", kTileN], "small_flops"}

}  // namespace ptq::gemm
