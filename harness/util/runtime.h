// Process-wide runtime settings chosen on the command line: threads, device, dtype; and a description of
// the environment for provenance (LibTorch/CUDA versions, device name, host, harness version).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include <string>

namespace ptq {

// Process-level tuning measured on the 2-core CI machine (tests/bench/bench_eval.cpp), done first in main():
//  - glibc malloc: keep activation-sized blocks (< 32 MiB) in the heap instead of mmap/munmap-ing them on
//    every op (attention of a small model: 24 ms -> 9 ms per block from page faults alone), and no block
//    mmap'd at all (a 7B-shaped LWC training step: 33.0 s -> 27.8 s, issue #32);
//  - libgomp (LibTorch's OpenMP) spins idle threads for ~300k iterations by default, stealing the cores
//    OpenBLAS's own threads need between ops. GOMP_SPINCOUNT is read only at library load, so the process
//    re-executes itself once with GOMP_SPINCOUNT=0 unless the user set it or OMP_WAIT_POLICY
//    (7B-shaped block forward 334 -> 381 tokens/s; a 4-layer model 2.9k -> 10.7k tokens/s).
//    PTQ_NO_REEXEC=1 turns the re-exec off (e.g. under a debugger).
void tune_malloc();
void reexec_with_openmp_env(char** argv);

// The cores this process may use: its CPU affinity (taskset, cgroup cpusets), and under Slurm at most
// SLURM_CPUS_PER_TASK.
int available_cpus();
// Grants `requested` threads (0 = available_cpus(); LibTorch defaults to 1 here) under the numerics mode's
// policy (util/numerics.h: LibTorch's intra-op threads, or the fixed-tile gemm's). Returns the count granted.
int configure_threads(int requested);
// "cpu" or "cuda[:N]"; InputError when CUDA is asked for but this build or machine has none.
c10::Device parse_device(const std::string& name);
// "auto" (fp32 on CPU, fp16 on CUDA, as the reference codes), "fp32", "fp16", "bf16".
c10::ScalarType parse_dtype(const std::string& name, const c10::Device& device);
std::string dtype_name(c10::ScalarType type);  // "fp32", "fp16", "bf16"

std::string harness_version();  // "0.1.0+g<sha>[-dirty]"
nlohmann::json environment_info(const c10::Device& device);

}  // namespace ptq
