// What the kernels of a run executed on, for provenance: the CPU and the ISA extensions that change which
// kernels LibTorch, OpenBLAS and oneDNN pick; the BLAS library and the core type it selected; LibTorch's
// version, build settings and the CPU capability it dispatched to; the compilers and C library; on CUDA
// the GPU, driver, CUDA/cuDNN versions and the precision settings (TF32, reduced-precision reductions).
#pragma once

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include <string>

namespace ptq {

// {"model", "vendor", "family", "model_number", "stepping", "isa": [the extensions below that it has],
//  "logical_cpus"} from /proc/cpuinfo. The ISA list covers AVX2/FMA, AVX-512 (F, BW, VL, VNNI, BF16,
// FP16) and AMX (tile, bf16, int8): the levels x86 kernels dispatch on.
nlohmann::json cpu_info();

// {"library": the file the BLAS's sgemm_ lives in, "vendor": "OpenBLAS" | "unknown", and for OpenBLAS
//  "version"/"config" (openblas_get_config), "core" (openblas_get_corename: the kernels it selected),
//  "threads" (openblas_get_num_threads)}.
nlohmann::json blas_info();
// The kernel set OpenBLAS selected ("Haswell", "SkylakeX", "Prescott", ...), or "" for another BLAS.
std::string openblas_core();
int openblas_threads();  // -1 for another BLAS

// LibTorch's CPU kernel dispatch level: "DEFAULT", "AVX2" or "AVX512".
std::string aten_cpu_capability();

// {"version", "cpu_capability", "intra_op_threads", "build": the "Build settings" of at::show_config(),
//  "openmp", "mkldnn"}.
nlohmann::json libtorch_info();

// {"cxx": ptqbench's compiler, "glibc": the C library version (its libm picks exp/log variants per CPU)}.
nlohmann::json toolchain_info();

// On CUDA: {"name", "capability", "driver", "runtime", "cudnn", "tf32_matmul", "tf32_cudnn",
// "fp16_reduced_precision_reduction", "deterministic_algorithms", "cudnn_deterministic", "cudnn_benchmark"};
// null on the CPU.
nlohmann::json gpu_info(const c10::Device& device);

}  // namespace ptq
