#include "harness/recon/adamw.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "harness/util/errors.h"

#include <fmt/format.h>

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
  const double bc2_sqrt = std::sqrt(1 - std::pow(beta2_, static_cast<double>(t_)));
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
      // torch.optim.AdamW's order, op for op (sqrt(v) / sqrt(bc2), not sqrt(v / bc2): equal in exact
      // arithmetic, not in fp32). torch 1.13 (the reference code's CPU oracle) updates m with mul_ and
      // add_ as here; torch >= 2.0 uses lerp_, which rounds differently.
      const at::Tensor denom = (v_[gi][i].sqrt() / bc2_sqrt).add_(eps_);
      p.addcdiv_(m_[gi][i], denom, -lr / bc1);
    }
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out = {{"adamw.t", at::full({1}, t_, at::kLong)}};
  for (size_t g = 0; g < m_.size(); ++g)
    for (size_t i = 0; i < m_[g].size(); ++i) {
      out.emplace_back(fmt::format("adamw.m.{}.{}", g, i), m_[g][i]);
      out.emplace_back(fmt::format("adamw.v.{}.{}", g, i), v_[g][i]);
    }
  return out;
}

void AdamW::load_state(const std::map<std::string, at::Tensor>& state) {
  const auto get = [&](const std::string& name, const at::Tensor& like) {
    const auto it = state.find(name);
    if (it == state.end()) throw InputError(fmt::format("optimiser state: missing {}", name));
    if (it->second.sizes() != like.sizes())
      throw InputError(fmt::format("optimiser state: {} has shape [{}], expected [{}]", name,
                                   fmt::join(it->second.sizes(), ", "), fmt::join(like.sizes(), ", ")));
    return it->second.to(like.device(), like.scalar_type());
  };
  c10::AutoGradMode no_grad(false);
  t_ = get("adamw.t", at::zeros({1}, at::kLong)).item<int64_t>();
  for (size_t g = 0; g < m_.size(); ++g)
    for (size_t i = 0; i < m_[g].size(); ++i) {
      m_[g][i].copy_(get(fmt::format("adamw.m.{}.{}", g, i), m_[g][i]));
      v_[g][i].copy_(get(fmt::format("adamw.v.{}.{}", g, i), v_[g][i]));
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
