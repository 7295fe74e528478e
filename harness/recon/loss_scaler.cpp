#include "harness/recon/loss_scaler.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <stdexcept>

namespace ptq::train {

DynamicLossScaler::DynamicLossScaler(double init_scale, double growth_factor, double backoff_factor, int64_t growth_interval)
    : scale_(init_scale), growth_(growth_factor), backoff_(backoff_factor), interval_(growth_interval) {}

at::Tensor DynamicLossScaler::scale(const at::Tensor& loss) const { return loss * scale_; }

bool DynamicLossScaler::unscale(const std::vector<at::Tensor>& params) const {
  at::NoGradGuard no_grad;
  bool finite = true;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    at::Tensor g = p.mutable_grad();
    g.mul_(1.0 / scale_);
    finite = finite && g.isfinite().all().item<bool>();
  }
  return finite;
}

void DynamicLossScaler::update(bool found_inf) {
  if (found_inf) {
    scale_ *= backoff_;
    good_steps_ = 0;
    ++skipped_;
    return;
  }
  if (++good_steps_ == interval_) {
    scale_ *= growth_;
    good_steps_ = 0;
  }
}

std::vector<double> DynamicLossScaler::state() const {
  return {scale_, static_cast<double>(good_steps_), static_cast<double>(skipped_)};
}

void DynamicLossScaler::load_state(const std::vector<double>& state) {
  if (state.size() != 3) throw std::invalid_argument("DynamicLossScaler::load_state: expected 3 values");
  scale_ = state[0];
  good_steps_ = static_cast<int64_t>(state[1]);
  skipped_ = static_cast<int64_t>(state[2]);
}

}  // namespace ptq::train
