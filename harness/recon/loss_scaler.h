// Dynamic loss scaling with the arithmetic of torch.cuda.amp.GradScaler (defaults: initial scale 2^16,
// growth x2 after 2000 consecutive finite steps, back-off x0.5 on an overflow, the step skipped), as
// OmniQuant's NativeScalerWithGradNormCount uses it for fp16 training. Device-agnostic: the CPU tests
// exercise it with hand-made gradients.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ptq::train {

class DynamicLossScaler {
 public:
  explicit DynamicLossScaler(double init_scale = 65536.0, double growth_factor = 2.0, double backoff_factor = 0.5,
                             int64_t growth_interval = 2000);
  at::Tensor scale(const at::Tensor& loss) const;  // loss * scale
  // Divides every gradient by the scale; false when any of them is non-finite (the step must be
  // skipped; the gradients are then meaningless).
  bool unscale(const std::vector<at::Tensor>& params) const;
  // After each step: back off on an overflow, grow after `growth_interval` finite steps in a row.
  void update(bool found_inf);
  double current_scale() const { return scale_; }
  int64_t skipped_steps() const { return skipped_; }
  // {scale, finite steps in a row, skipped steps}: what a resumed run needs to continue identically.
  std::vector<double> state() const;
  void load_state(const std::vector<double>& state);

 private:
  double scale_, growth_, backoff_;
  int64_t interval_, good_steps_ = 0, skipped_ = 0;
};

}  // namespace ptq::train
