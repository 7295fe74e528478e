#include "train/adamw.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace ptq::train {

AdamW::AdamW(std::vector<ParamGroup> groups, double beta1, double beta2, double eps)
    : groups_(std::move(groups)), beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (const auto& g : groups_) {
    m_.emplace_back();
    v_.emplace_back();
    for (const auto& p : g.params) {
      m_.back().push_back(at::zeros_like(p));
      v_.back().push_back(at::zeros_like(p));
    }
  }
}

void AdamW::step(double lr_scale) {
  c10::AutoGradMode no_grad(false);
  ++t_;
  const double bc1 = 1 - std::pow(beta1_, static_cast<double>(t_));
  const double bc2 = 1 - std::pow(beta2_, static_cast<double>(t_));
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& g = groups_[gi];
    const double lr = g.lr * lr_scale;
    for (size_t i = 0; i < g.params.size(); ++i) {
      at::Tensor p = g.params[i];
      const at::Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      if (g.weight_decay != 0) p.mul_(1 - lr * g.weight_decay);  // decoupled decay, as torch.optim.AdamW
      m_[gi][i].mul_(beta1_).add_(grad, 1 - beta1_);
      v_[gi][i].mul_(beta2_).addcmul_(grad, grad, 1 - beta2_);
      const at::Tensor denom = (v_[gi][i] / bc2).sqrt_().add_(eps_);
      p.addcdiv_(m_[gi][i], denom, -lr / bc1);
    }
  }
}

void AdamW::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params)
      if (p.grad().defined()) p.mutable_grad().zero_();
}

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  c10::AutoGradMode no_grad(false);
  double total = 0;
  for (const auto& p : params)
    if (p.grad().defined()) total += p.grad().pow(2).sum().item<double>();
  total = std::sqrt(total);
  if (total > max_norm && total > 0)
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(max_norm / (total + 1e-6));
  return total;
}

}  // namespace ptq::train
