// What a result records about where and how it was computed, beyond the cell itself: scheduler ids from
// the environment and the process's peak memory.
#pragma once

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

namespace ptq::run {

// Job ids of Slurm / PBS / LSF / SGE and the GPU assignment, when set ({} otherwise): CUDA_VISIBLE_DEVICES,
// SLURM_JOB_ID, SLURM_ARRAY_JOB_ID,
// SLURM_ARRAY_TASK_ID, SLURM_JOB_NODELIST, SLURM_CLUSTER_NAME, PBS_JOBID, LSB_JOBID, JOB_ID.
nlohmann::json scheduler_info();

// {"peak_rss_gb": VmHWM of this process, "peak_gpu_gb": CUDA caching allocator peak or null}.
nlohmann::json peak_memory(const c10::Device& device);

std::string utc_timestamp();  // 2026-11-22T16:03:34Z

}  // namespace ptq::run
