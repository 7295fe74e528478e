#include "harness/recon/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace ptq::recon {

namespace {

bool eight_to_fifteen(int bits) { return bits >= 8 && bits < 16; }

// LibTorch 2.4 made autocast per device type; 1.13 has the CUDA-only calls.
bool cuda_autocast_enabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

void set_cuda_autocast(bool on) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(at::kCUDA, on);
#else
  at::autocast::set_enabled(on);
#endif
}

}  // namespace

std::string PrecisionPolicy::describe() const {
  if (fp32_block) return "fp32 block (8-bit quantizer on CUDA, or a half-precision model on the CPU)";
  if (autocast) return "amp: half-precision storage, autocast, fp32 parameters, dynamic loss scaling";
  return "fp32";
}

PrecisionPolicy precision_policy(const quant::QuantSetting& s, c10::Device device, c10::ScalarType model_dtype) {
  PrecisionPolicy p;
  if (model_dtype == c10::kFloat) return p;
  if (!device.is_cuda()) {  // a half-precision model on the CPU trains in float32 (no CPU autocast here)
    p.fp32_block = true;
    return p;
  }
  if (eight_to_fifteen(s.wbits) || eight_to_fifteen(s.abits) || eight_to_fifteen(s.kv_bits)) {
    p.fp32_block = true;
    return p;
  }
  p.autocast = true;
  p.loss_scaling = true;
  return p;
}

AutocastGuard::AutocastGuard(bool on) : on_(on) {
  if (!on_) return;
  previous_ = cuda_autocast_enabled();
  set_cuda_autocast(true);
}

AutocastGuard::~AutocastGuard() {
  if (!on_) return;
  set_cuda_autocast(previous_);
  at::autocast::clear_cache();
}

}  // namespace ptq::recon
