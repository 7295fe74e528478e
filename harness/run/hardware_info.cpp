#include "run/hardware_info.h"

#include "run/runtime.h"
#include "run/tiled_gemm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <torch/version.h>

#ifdef PTQ_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <cuda_runtime_api.h>
#endif

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace ptq {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// "key : value" lines of the first processor in /proc/cpuinfo.
std::map<std::string, std::string> first_cpu() {
  std::map<std::string, std::string> fields;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (trim(line).empty()) break;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) fields[trim(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return fields;
}

template <typename Fn>
Fn blas_symbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

}  // namespace

nlohmann::json cpu_info() {
  const auto f = first_cpu();
  const auto get = [&](const char* k) { return f.count(k) ? f.at(k) : std::string(); };
  std::set<std::string> flags;
  std::istringstream words(get("flags"));
  for (std::string w; words >> w;) flags.insert(w);
  nlohmann::json isa = nlohmann::json::array();
  for (const char* x : {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
                        "amx_tile", "amx_bf16", "amx_int8"})
    if (flags.count(x)) isa.push_back(x);
  return {{"model", get("model name")}, {"vendor", get("vendor_id")},      {"family", get("cpu family")},
          {"model_number", get("model")}, {"stepping", get("stepping")}, {"isa", isa},
          {"logical_cpus", available_cpus()}};
}

std::string openblas_core() {
  const auto corename = blas_symbol<char* (*)()>("openblas_get_corename");
  return corename ? trim(corename()) : "";
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
  j["config"] = trim(config());  // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
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
    if (trim(line).rfind(key, 0) == 0) return trim(trim(line).substr(key.size()));
  return "unknown";
}

nlohmann::json libtorch_info() {
  // show_config()'s "Build settings: BLAS_INFO=open, BUILD_TYPE=Release, CXX_COMPILER=..., ..." line.
  std::string build;
  std::istringstream config(at::show_config());
  for (std::string line; std::getline(config, line);)
    if (trim(line).rfind("- Build settings:", 0) == 0) build = trim(trim(line).substr(17));
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
