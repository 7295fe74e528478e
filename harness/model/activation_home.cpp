#include "harness/model/activation_home.h"

#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <limits>

#ifdef PTQ_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace ptq {

ActivationHome choose_activation_home(const std::string& setting, c10::Device device, int64_t activation_bytes,
                                      int64_t free_bytes) {
  if (setting != "auto" && setting != "device" && setting != "host")
    throw InputError(fmt::format("activations \"{}\": expected auto, device or host", setting));
  if (!device.is_cuda()) return ActivationHome::kDevice;
  if (setting == "device") return ActivationHome::kDevice;
  if (setting == "host") return ActivationHome::kHost;
  return activation_bytes <= free_bytes / 2 ? ActivationHome::kDevice : ActivationHome::kHost;
}

int64_t free_device_bytes(c10::Device device) {
#ifdef PTQ_WITH_CUDA
  if (device.is_cuda()) {
    int previous = 0;
    cudaGetDevice(&previous);
    cudaSetDevice(device.has_index() ? device.index() : 0);
    size_t free = 0, total = 0;
    const cudaError_t e = cudaMemGetInfo(&free, &total);
    cudaSetDevice(previous);
    if (e != cudaSuccess) throw std::runtime_error(fmt::format("cudaMemGetInfo: {}", cudaGetErrorString(e)));
    return static_cast<int64_t>(free);
  }
#else
  (void)device;
#endif
  return std::numeric_limits<int64_t>::max();
}

const char* activation_home_name(ActivationHome home) { return home == ActivationHome::kHost ? "host" : "device"; }

at::Tensor to_home(const at::Tensor& x, ActivationHome home, c10::Device device) {
  if (home == ActivationHome::kDevice || !device.is_cuda()) return x.to(device);
  at::Tensor pinned = at::empty(x.sizes(), x.options().device(at::kCPU).pinned_memory(true));
  pinned.copy_(x);
  return pinned;
}

}  // namespace ptq
