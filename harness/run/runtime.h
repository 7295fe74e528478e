// Process-wide runtime settings chosen on the command line: threads, device, dtype; and a description of
// the environment for provenance (LibTorch/CUDA versions, device name, host, harness version).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include <string>

namespace ptq {

// Sets LibTorch's intra-op threads (0 = all cores; LibTorch defaults to 1 here). Returns the count used.
int configure_threads(int requested);
// "cpu" or "cuda[:N]"; InputError when CUDA is asked for but this build or machine has none.
c10::Device parse_device(const std::string& name);
// "auto" (fp32 on CPU, fp16 on CUDA, as the reference codes), "fp32", "fp16", "bf16".
c10::ScalarType parse_dtype(const std::string& name, const c10::Device& device);
std::string dtype_name(c10::ScalarType type);  // "fp32", "fp16", "bf16"

std::string harness_version();  // "0.1.0+g<sha>[-dirty]"
nlohmann::json environment_info(const c10::Device& device);

}  // namespace ptq
