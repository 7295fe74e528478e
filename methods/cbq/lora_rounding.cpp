#include "methods/cbq/lora_rounding.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace ptq::methods::cbq {

LoraRounding::LoraRounding(const at::Tensor& weight, const quant::QParams& qp, const quant::QuantizerSpec& spec,
                           const LoraRoundingOptions& options)
    : weight_(weight.detach().to(at::kFloat)), zero_(qp.zero.detach().to(at::kFloat).reshape({-1, 1})), spec_(spec), o_(options) {
  at::NoGradGuard no_grad;
  const at::Tensor s = qp.scale.detach().to(at::kFloat).reshape({-1, 1});
  const at::Tensor x = rows(weight_) / s;
  base_ = at::floor(x);  // the integer grid below W at the initial step: fixed while the step is learned
  const at::Tensor frac = (x - base_).view_as(weight_);
  // AdaRound's init: h(V0) = frac, i.e. sigmoid(V0) = (frac - gamma) / (zeta - gamma).
  const at::Tensor v0 = -at::log((o_.zeta - o_.gamma) / (frac - o_.gamma) - 1.0);
  if (o_.rank <= 0) {  // full-rank AdaRound: V itself is learned
    v_ = v0.clone().requires_grad_(true);
    return;
  }
  // LoRA: the AdaRound init stays as a frozen base and only a rank-r update is learned, zero at the start
  // (A1 = 0, A2 small random), so training starts at h = frac and the hardened init is round-to-nearest.
  v0_ = v0;
  a1_ = at::zeros({weight_.size(0), o_.rank}, weight_.options()).requires_grad_(true);
  const at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o_.seed);
  a2_ = (at::randn({o_.rank, weight_.size(1)}, gen, at::TensorOptions().dtype(at::kFloat)) /
         std::sqrt(static_cast<double>(weight_.size(1))))
            .to(weight_.options())
            .requires_grad_(true);
}

at::Tensor LoraRounding::rows(const at::Tensor& x) const {
  return spec_.group_size > 0 ? x.reshape({-1, spec_.group_size}) : x.reshape({x.size(0), -1});
}

std::vector<at::Tensor> LoraRounding::parameters() const {
  return v_.defined() ? std::vector<at::Tensor>{v_} : std::vector<at::Tensor>{a1_, a2_};
}

int64_t LoraRounding::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

at::Tensor LoraRounding::soft_offsets() const {
  const at::Tensor v = v_.defined() ? v_ : v0_ + at::matmul(a1_, a2_);
  return at::clamp(at::sigmoid(v) * (o_.zeta - o_.gamma) + o_.gamma, 0.0, 1.0);
}

at::Tensor LoraRounding::quantized(const at::Tensor& scale, Offsets offsets) const {
  at::Tensor h = soft_offsets();
  if (offsets == Offsets::kHard) {
    h = (h >= 0.5).to(at::kFloat);
  } else if (offsets == Offsets::kStraightThrough) {  // the hardened value forward, the soft gradient backward
    h = (h >= 0.5).to(at::kFloat) - h.detach() + h;
  }
  const at::Tensor s = scale.reshape({-1, 1});
  const at::Tensor q = at::clamp(base_ + rows(h) + zero_, 0.0, static_cast<double>(spec_.qmax()));
  return ((q - zero_) * s).view_as(weight_);
}

at::Tensor LoraRounding::regularizer(double beta) const {
  return (1.0 - (2.0 * soft_offsets() - 1.0).abs().pow(beta)).sum();
}

int64_t LoraRounding::near_binary(double tol) const {
  at::NoGradGuard no_grad;
  const at::Tensor h = soft_offsets();
  return ((h <= tol) | (h >= 1.0 - tol)).sum().item<int64_t>();
}

double rounding_beta(double t, double warmup, double start, double end) {
  if (t < warmup) return -1.0;
  const double u = (t - warmup) / (1.0 - warmup);
  return start + (end - start) * std::min(1.0, std::max(0.0, u));
}

}  // namespace ptq::methods::cbq
