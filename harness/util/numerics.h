// Numerics modes: whether a process computes with the kernels its machine happens to pick (native) or
// with kernel choices pinned so that the same cell gives bit-identical numbers on any x86-64 machine with
// AVX2 and FMA, whatever newer ISA extensions it has and however many threads it runs (reproducible).
//
// What differs between machines or thread counts without pins, measured on LibTorch 1.13 + OpenBLAS
// 0.3.21 (docs/numerics.md):
//  - LibTorch dispatches its CPU kernels per ISA (AVX2 or AVX-512): different vector widths give different
//    summation orders and different exp/log approximations.       -> ATEN_CPU_CAPABILITY=avx2
//  - OpenBLAS picks its kernels per CPU model, and falls back to generic Prescott kernels (whose block sizes
//    follow the L2 cache size) on CPUs it does not know.           -> OPENBLAS_CORETYPE=Haswell
//  - OpenBLAS's multi-threaded sgemm splits C by the thread count, and its kernels round differently at
//    tile edges: 1 and 2 threads differ in most elements.          -> OpenBLAS single-threaded, and
//    ptqbench's own fixed-tile parallel sgemm (util/tiled_gemm.h) between LibTorch and OpenBLAS
//  - LibTorch's reductions to one value split the input by the thread count, and element-wise kernels
//    switch from vector to scalar code at thread-chunk borders.   -> LibTorch's intra-op threads = 1
//  - oneDNN (bf16 matrix products on the CPU) dispatches per ISA.  -> ONEDNN_MAX_CPU_ISA=AVX2
// The pins must be in the environment before LibTorch and OpenBLAS initialise, so a process that needs
// them re-executes itself once with them set (enter_numerics), then checks that they took effect and
// refuses the mode with one line when they did not. On CUDA the mode also asks for deterministic
// algorithms and no TF32: run-to-run identical on one GPU model, not across GPU models.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

namespace ptq {

enum class NumericsMode { kNative, kReproducible };

// "native" | "reproducible"; InputError naming `where` (e.g. "--numerics", "runtime.numerics") otherwise.
NumericsMode parse_numerics(const std::string& name, const std::string& where);
const char* numerics_name(NumericsMode mode);

// main() calls this first: the command line a re-exec repeats.
void remember_command_line(int argc, char** argv);

// The environment variables reproducible mode sets (NAME -> value).
const std::vector<std::pair<std::string, std::string>>& reproducible_pins();
// True when every pin is set to its value in this process's environment.
bool pins_in_environment();

// Puts this process into `mode` before any tensor work: for reproducible mode, re-executes the process
// with the pins when they are not yet in the environment (does not return then), verifies that they took
// effect and routes matrix products through the fixed-tile gemm. Throws EnvironmentError (exit 6) with
// one line saying what is missing when reproducible mode cannot be had. Idempotent for the same mode;
// a second, different mode in one process is an internal error.
void enter_numerics(NumericsMode mode);
// The mode entered (native when enter_numerics was never called).
NumericsMode current_numerics();

// Threads: in reproducible mode LibTorch's own kernels run on one thread and `threads` (0 = all cores)
// go to the fixed-tile gemm; in native mode LibTorch gets them all. Returns the count granted.
int apply_thread_policy(int threads);

// What produced a number: {"mode", "pins": {...}, "verified": {...}, "threads": {...}} plus the
// hardware and software the kernels ran on (util/hardware_info.h).
nlohmann::json numerics_provenance();

// One line naming what decides the digits, from a numerics_provenance() record: "reproducible (AVX2
// kernels, OpenBLAS Haswell, fixed tiles)" or "native (AVX512 kernels, OpenBLAS Cooperlake x2, LibTorch
// x2 threads)". Two results with different summaries may differ in their last digits.
std::string numerics_summary(const nlohmann::json& provenance);

}  // namespace ptq
