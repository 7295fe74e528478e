// Where the reconstruction engine keeps the calibration activations (x_fp, x_q, the targets: each
// [n, T, hidden] in the model's dtype, 4.3 GB for 128 x 2048 windows of a 70B model in fp16): on the
// compute device, or - when they would not fit beside the block being trained - in pinned host memory,
// from where one batch at a time crosses to the device (research/omniquant_lrquant.md §1.4: the
// reference keeps them on the GPU and has no fallback).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace ptq {

enum class ActivationHome { kDevice, kHost };

// `setting`: "device", "host" or "auto". auto = the device unless the activations would take more than
// half of the device's free memory (the other half is left to the block, its fp32 copy, the learnable
// parameters, their optimiser state and one step's autograd graph). On the CPU both homes are the same
// memory: always kDevice. InputError for another setting.
ActivationHome choose_activation_home(const std::string& setting, c10::Device device, int64_t activation_bytes,
                                      int64_t free_device_bytes);
// Free memory of a CUDA device (as cudaMemGetInfo); INT64_MAX for the CPU.
int64_t free_device_bytes(c10::Device device);
const char* activation_home_name(ActivationHome home);

// `x` moved to its home: unchanged on the device; a pinned host copy for kHost on a CUDA device.
at::Tensor to_home(const at::Tensor& x, ActivationHome home, c10::Device device);

}  // namespace ptq
