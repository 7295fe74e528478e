#include "harness/run/provenance.h"

#include <sys/resource.h>

#include <cstdlib>
#include <ctime>

#ifdef PTQ_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace ptq::run {

nlohmann::json scheduler_info() {
  nlohmann::json j = nlohmann::json::object();
  for (const char* name : {"CUDA_VISIBLE_DEVICES", "SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_JOB_NODELIST",
                           "SLURM_CLUSTER_NAME", "PBS_JOBID", "LSB_JOBID", "JOB_ID"})
    if (const char* v = std::getenv(name)) j[name] = v;
  return j;
}

nlohmann::json peak_memory(const c10::Device& device) {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);  // ru_maxrss: kilobytes on Linux
  nlohmann::json j = {{"peak_rss_gb", static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0)}, {"peak_gpu_gb", nullptr}};
#ifdef PTQ_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    // Index 0 is StatType::AGGREGATE, whose namespace moved between LibTorch 1.13 and 2.x.
    j["peak_gpu_gb"] = static_cast<double>(stats.allocated_bytes[0].peak) / double(1ull << 30);
  }
#else
  (void)device;
#endif
  return j;
}

std::string utc_timestamp() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace ptq::run
