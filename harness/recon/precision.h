// The reconstruction engine's precision policy, as the reference (quantize/omniquant.py):
//   - a float32 model: float32 throughout; an fp16/bf16 model on the CPU: the block, its inputs and
//     targets cast to float32 for training and folding, then back (as the 8-bit CUDA branch).
//   - CUDA with an fp16/bf16 model and every quantizer below 8 bits or at 16 (W4A4, W6A6, W*A16):
//     activations and blocks stored in the model's dtype, learned parameters in float32, the training
//     forward under autocast, dynamic loss scaling (GradScaler).
//   - CUDA with an 8..15-bit weight or activation quantizer (W4A8, W8A8): the block, its inputs and
//     targets in float32 and no autocast - fp16 gradients overflowed there (reference issue #8).
// The CUDA branches are not yet verified on a GPU (research/omniquant_lrquant.md §1.4).
#pragma once

#include "harness/ptq/quant_setting.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace ptq::recon {

struct PrecisionPolicy {
  bool autocast = false;      // the training forward under CUDA autocast
  bool loss_scaling = false;  // dynamic loss scaling
  bool fp32_block = false;    // train, fold and propagate the block in float32, then cast back
  std::string describe() const;
};

PrecisionPolicy precision_policy(const quant::QuantSetting& setting, c10::Device device, c10::ScalarType model_dtype);

// Turns CUDA autocast on for its lifetime (nothing when `on` is false), clearing its cast cache after.
class AutocastGuard {
 public:
  explicit AutocastGuard(bool on);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool on_, previous_ = false;
};

}  // namespace ptq::recon
