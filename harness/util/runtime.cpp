#include "harness/util/runtime.h"

#include "harness/util/build_info.h"
#include "harness/util/errors.h"
#include "harness/util/hardware_info.h"
#include "harness/util/numerics.h"
#include "harness/util/request_limits.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/version.h>

#ifdef PTQ_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace ptq {

void tune_malloc() {
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum; fixing it also stops the dynamic threshold
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Blocks above the threshold (a 7B block's activations: 90 MB for [2048, 11008] in fp32) would still be
  // mmap'd and unmapped on every use, and the kernel clears every page of each new mapping: a third of a
  // 7B-shaped training step went to page faults (issue #32's profile: 33.0 s -> 27.8 s per step on
  // 2 threads of an EPYC). From the heap they are reused.
  ::mallopt(M_MMAP_MAX, 0);
}

void reexec_with_openmp_env(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") || std::getenv("OMP_WAIT_POLICY") || std::getenv("PTQ_NO_REEXEC")) return;
  ::setenv("GOMP_SPINCOUNT", "0", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then simply run with the defaults
}

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int n = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;  // taskset, cgroup cpusets
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Without CPU binding the node's cores all look free: a Slurm task's share, or a cell's share when
  // `ptqbench run --jobs N` runs N cells at once (run/matrix_runner.cpp).
  for (const char* share : {"SLURM_CPUS_PER_TASK", "PTQ_CPUS_PER_CELL"})
    if (const char* v = std::getenv(share)) {
      const int k = std::atoi(v);
      if (k > 0 && k < n) n = k;
    }
  return n;
}

int configure_threads(int requested) {
  check_threads(requested, "--threads");  // also where a spec's or plan's threads reach (checked there first)
  return apply_thread_policy(requested);
}

c10::Device parse_device(const std::string& name) {
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!at::hasCUDA())
      throw InputError(fmt::format("--device {}: this LibTorch build has no CUDA or no GPU is visible (expected cpu)", name));
    try {
      return c10::Device(name);
    } catch (const std::exception&) {
      throw InputError(fmt::format("--device {}: expected cuda or cuda:N", name));
    }
  }
  throw InputError(fmt::format("--device {}: unknown device (expected cpu, cuda or cuda:N)", name));
}

c10::ScalarType parse_dtype(const std::string& name, const c10::Device& device) {
  if (name == "auto") return device.is_cuda() ? at::kHalf : at::kFloat;
  if (name == "fp32" || name == "float32") return at::kFloat;
  if (name == "fp16" || name == "float16") return at::kHalf;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  throw InputError(fmt::format("--dtype {}: unknown dtype (expected auto, fp32, fp16 or bf16)", name));
}

std::string dtype_name(c10::ScalarType type) {
  switch (type) {
    case at::kFloat: return "fp32";
    case at::kHalf: return "fp16";
    case at::kBFloat16: return "bf16";
    default: return c10::toString(type);
  }
}

std::string harness_version() { return fmt::format("{}+g{}", build_info::kVersion, build_info::kGitSha); }

nlohmann::json environment_info(const c10::Device& device) {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  nlohmann::json env = {{"harness_version", harness_version()},
                        {"git_sha", build_info::kGitSha},
                        {"libtorch_version", TORCH_VERSION},
                        {"cuda_available", at::hasCUDA()},
                        {"device", device.str()},
                        {"threads", at::get_num_threads()},
                        {"host", host}};
  std::string device_name = "cpu";
#ifdef PTQ_WITH_CUDA
  env["cuda_runtime_version"] = CUDART_VERSION;  // e.g. 12040 = CUDA 12.4
  if (device.is_cuda()) device_name = at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->name;
#endif
  env["device_name"] = device_name;
  env["gpu"] = gpu_info(device);
  env["numerics"] = numerics_provenance();
  return env;
}

}  // namespace ptq
