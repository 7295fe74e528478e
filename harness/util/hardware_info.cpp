#include "harness/util/hardware_info.h"

#include "harness/util/runtime.h"
#include "harness/util/text.h"
#include "harness/util/tiled_gemm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define PTQ_HAVE_CPUID 1
#endif
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <torch/version.h>

#ifdef PTQ_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <cuda_runtime_api.h>
#endif

#include <cstring>
#include <sstream>

namespace ptq {

namespace {

#ifdef PTQ_HAVE_CPUID
struct CpuidRegs {
  unsigned a = 0, b = 0, c = 0, d = 0;
};
CpuidRegs cpuid(unsigned leaf, unsigned subleaf = 0) {
  CpuidRegs r;
  if (__get_cpuid_max(leaf & 0x80000000u, nullptr) < leaf) return r;  // leaf not implemented: zeros
  __cpuid_count(leaf, subleaf, r.a, r.b, r.c, r.d);
  return r;
}

// The 48-byte brand string (leaves 0x80000002-4), e.g. "Intel(R) Xeon(R) Platinum 8480+".
std::string brand_string() {
  char brand[49] = {0};
  for (unsigned i = 0; i < 3; ++i) {
    const CpuidRegs r = cpuid(0x80000002u + i);
    const unsigned words[4] = {r.a, r.b, r.c, r.d};
    std::memcpy(brand + 16 * i, words, 16);
  }
  return python_strip(brand);
}
#endif

template <typename Fn>
Fn blas_symbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

}  // namespace

nlohmann::json cpu_info() {
#ifndef PTQ_HAVE_CPUID
  return {{"model", "not x86"}, {"isa", nlohmann::json::array()}, {"logical_cpus", available_cpus()}};
#else
  // CPUID, not /proc/cpuinfo: what this process's instructions see (also under an emulator or a
  // hypervisor that masks features), which is what kernel dispatch decides on.
  const CpuidRegs v = cpuid(0), l1 = cpuid(1), l7 = cpuid(7, 0), l7s1 = cpuid(7, 1);
  char vendor[13] = {0};
  const unsigned vendor_words[3] = {v.b, v.d, v.c};
  std::memcpy(vendor, vendor_words, 12);
  const unsigned base_family = (l1.a >> 8) & 0xf, base_model = (l1.a >> 4) & 0xf;
  const unsigned family = base_family == 0xf ? base_family + ((l1.a >> 20) & 0xff) : base_family;
  const unsigned model = base_family == 0x6 || base_family == 0xf ? base_model | (((l1.a >> 16) & 0xf) << 4) : base_model;
  const std::pair<const char*, bool> features[] = {
      {"avx2", (l7.b >> 5) & 1},        {"fma", (l1.c >> 12) & 1},          {"avx512f", (l7.b >> 16) & 1},
      {"avx512bw", (l7.b >> 30) & 1},   {"avx512vl", (l7.b >> 31) & 1},     {"avx512_vnni", (l7.c >> 11) & 1},
      {"avx512_bf16", (l7s1.a >> 5) & 1}, {"avx512_fp16", (l7.d >> 23) & 1}, {"amx_bf16", (l7.d >> 22) & 1},
      {"amx_tile", (l7.d >> 24) & 1},   {"amx_int8", (l7.d >> 25) & 1}};
  nlohmann::json isa = nlohmann::json::array();
  for (const auto& [name, present] : features)
    if (present) isa.push_back(name);
  return {{"model", brand_string()}, {"vendor", vendor},   {"family", family}, {"model_number", model},
          {"stepping", l1.a & 0xf},  {"isa", isa},         {"logical_cpus", available_cpus()}};
#endif
}

std::string openblas_core() {
  const auto corename = blas_symbol<char* (*)()>("openblas_get_corename");
  return corename ? python_strip(corename()) : "";
}

int openblas_threads() {
  const auto threads = blas_symbol<int (*)()>("openblas_get_num_threads");
  return threads ? threads() : -1;
}

nlohmann::json blas_info() {
  nlohmann::json j = {{"library", gemm::real_blas_library()}};
  const auto config = blas_symbol<char* (*)()>("openblas_get_config");
  if (!config) {
    j["vendor"] = "unknown";
    return j;
  }
  j["vendor"] = "OpenBLAS";
  j["config"] = python_strip(config());  // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
  j["core"] = openblas_core();
  j["threads"] = openblas_threads();
  return j;
}

std::string aten_cpu_capability() {
  // at::native::get_cpu_capability() is not exported by every LibTorch build (Debian's 1.13 hides it);
  // show_config() reports the same dispatch choice on its "CPU capability usage:" line.
  std::istringstream config(at::show_config());
  const std::string key = "- CPU capability usage:";
  for (std::string line; std::getline(config, line);)
    if (python_strip(line).rfind(key, 0) == 0) return python_strip(python_strip(line).substr(key.size()));
  return "unknown";
}

nlohmann::json libtorch_info() {
  // show_config()'s "Build settings: BLAS_INFO=open, BUILD_TYPE=Release, CXX_COMPILER=..., ..." line.
  std::string build;
  std::istringstream config(at::show_config());
  for (std::string line; std::getline(config, line);)
    if (python_strip(line).rfind("- Build settings:", 0) == 0) build = python_strip(python_strip(line).substr(17));
  return {{"version", TORCH_VERSION},
          {"cpu_capability", aten_cpu_capability()},
          {"intra_op_threads", at::get_num_threads()},
          {"build", build},
          {"openmp", at::get_openmp_version()},
          {"mkldnn", at::hasMKLDNN() ? at::get_mkldnn_version() : "none"}};
}

nlohmann::json toolchain_info() {
#if defined(__clang__)
  const std::string cxx = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  const std::string cxx = std::string("gcc ") + __VERSION__;
#else
  const std::string cxx = "unknown";
#endif
  return {{"cxx", cxx}, {"glibc", gnu_get_libc_version()}};
}

nlohmann::json gpu_info(const c10::Device& device) {
  if (!device.is_cuda()) return nullptr;
#ifdef PTQ_WITH_CUDA
  const int index = device.has_index() ? device.index() : 0;
  const auto* prop = at::cuda::getDeviceProperties(index);
  int driver = 0;
  cudaDriverGetVersion(&driver);
  auto& ctx = at::globalContext();
  return {{"name", prop->name},
          {"capability", std::to_string(prop->major) + "." + std::to_string(prop->minor)},
          {"driver", driver},
          {"runtime", CUDART_VERSION},
          {"cudnn", at::detail::getCUDAHooks().hasCuDNN() ? at::detail::getCUDAHooks().versionCuDNN() : 0},
          {"tf32_matmul", ctx.allowTF32CuBLAS()},
          {"tf32_cudnn", ctx.allowTF32CuDNN()},
          {"fp16_reduced_precision_reduction", ctx.allowFP16ReductionCuBLAS()},
          {"deterministic_algorithms", ctx.deterministicAlgorithms()},
          {"cudnn_deterministic", ctx.deterministicCuDNN()},
          {"cudnn_benchmark", ctx.benchmarkCuDNN()}};
#else
  return nullptr;
#endif
}

}  // namespace ptq
