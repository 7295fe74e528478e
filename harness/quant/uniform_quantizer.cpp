#include "harness/quant/uniform_quantizer.h"

#include "harness/quant/fused_fake_quant.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace ptq::quant {

namespace {

constexpr double kScaleMin = 1e-5, kScaleMax = 1e4, kZeroBound = 1e4;

// Rows of a weight for its group size: [out, in] -> [out * in / g, g] (row-major, contiguous groups).
at::Tensor weight_rows(const at::Tensor& w, const QuantizerSpec& spec) {
  if (w.dim() != 2) throw std::invalid_argument("fake_quant_weight: expected a 2-D weight");
  if (spec.group_size <= 0 || spec.range == RangeRule::kGptqNearest) return w;
  if (w.size(1) % spec.group_size != 0)
    throw std::invalid_argument(fmt::format("group size {} does not divide in_features {}", spec.group_size, w.size(1)));
  return w.reshape({-1, spec.group_size});
}

bool needs_grad(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  if (!c10::GradMode::is_enabled()) return false;
  return a.requires_grad() || (b.defined() && b.requires_grad()) || (c.defined() && c.requires_grad());
}

}  // namespace

QParams compute_qparams(const at::Tensor& rows, const QuantizerSpec& spec, const at::Tensor& lwc_up,
                        const at::Tensor& lwc_low) {
  // amin/amax as the reference (quantizer.py): tied extremes share the gradient equally (min/max with
  // indices give it all to one element; ties do occur, e.g. under GQA at token 0 the o_proj input repeats V).
  at::Tensor xmin = at::amin(rows, {-1}, /*keepdim=*/true);
  at::Tensor xmax = at::amax(rows, {-1}, /*keepdim=*/true);
  const double qmax = static_cast<double>(spec.qmax());
  if (spec.range == RangeRule::kGptqNearest) {
    xmin = at::clamp_max(xmin, 0.0);
    xmax = at::clamp_min(xmax, 0.0);
    if (spec.symmetric) {  // quant.py: xmax = max(|xmin|, xmax), xmin = -xmax where xmin < 0
      xmax = at::maximum(xmin.abs(), xmax);
      xmin = at::where(xmin.lt(0), -xmax, xmin);
    }
    const at::Tensor both_zero = xmin.eq(0).logical_and(xmax.eq(0));
    xmin = at::where(both_zero, at::full_like(xmin, -1.0), xmin);
    xmax = at::where(both_zero, at::full_like(xmax, 1.0), xmax);
    const at::Tensor scale = (xmax - xmin) / qmax;
    if (spec.symmetric) return {scale, at::full_like(scale, (qmax + 1) / 2).detach()};
    return {scale, at::round(-xmin / scale).detach()};
  }
  if (lwc_up.defined()) xmax = at::sigmoid(lwc_up) * xmax;
  if (lwc_low.defined()) xmin = at::sigmoid(lwc_low) * xmin;
  if (spec.symmetric) {
    const double half = static_cast<double>((int64_t{1} << (spec.bits - 1)) - 1);
    const at::Tensor absmax = at::max(xmax.abs(), xmin.abs());
    const at::Tensor scale = at::clamp(absmax / half, kScaleMin, kScaleMax);
    return {scale, at::full_like(scale, half).detach()};
  }
  const at::Tensor scale = at::clamp((xmax - xmin) / qmax, kScaleMin, kScaleMax);
  // torch.round has a zero gradient: the zero point never carries gradient (OmniQuant).
  const at::Tensor zero = at::round(at::clamp(-xmin / scale, -kZeroBound, kZeroBound)).detach();
  return {scale, zero};
}

at::Tensor fake_quant_rows(const at::Tensor& rows, const QParams& qp, const QuantizerSpec& spec) {
  const double qmax = static_cast<double>(spec.qmax());
  if (!needs_grad(rows, qp.scale, at::Tensor())) {
    // Inference: the same arithmetic in place on one buffer (no autograd graph to keep).
    at::Tensor q = rows / qp.scale;
    q.round_().add_(qp.zero).clamp_(0.0, qmax).sub_(qp.zero).mul_(qp.scale);
    return q;
  }
  const at::Tensor x = rows / qp.scale;
  const at::Tensor x_int = (at::round(x) - x).detach() + x;  // straight-through rounding
  return (at::clamp(x_int + qp.zero, 0.0, qmax) - qp.zero) * qp.scale;
}

at::Tensor fake_quant_weight(const at::Tensor& weight, const QuantizerSpec& spec, const at::Tensor& lwc_up,
                             const at::Tensor& lwc_low, QParams* qparams_out) {
  if (!spec.enabled()) return weight;
  // Training with PTQ_FUSED_QUANT=on: the fused quantizer (LWC gradients by hand, see fake_quant_per_token).
  if (fused_policy() == FusedPolicy::kOn && qparams_out == nullptr && needs_grad(weight, lwc_up, lwc_low) &&
      fused_weight_supported(weight, spec))
    return fused_fake_quant_weight(weight, spec, lwc_up, lwc_low);
  const at::Tensor rows = weight_rows(weight, spec);
  QParams qp = compute_qparams(rows, spec, lwc_up, lwc_low);
  at::Tensor out = fake_quant_rows(rows, qp, spec).reshape(weight.sizes());
  if (qparams_out != nullptr)
    *qparams_out = {qp.scale.detach().reshape({weight.size(0), -1}), qp.zero.reshape({weight.size(0), -1})};
  return out;
}

at::Tensor fake_quant_weight_proxy(const at::Tensor& weight, const QuantizerSpec& spec, const at::Tensor& lwc_up,
                                   const at::Tensor& lwc_low, const at::Tensor& log_proxy, QParams* qparams_out) {
  if (!spec.enabled()) return weight;
  const at::Tensor rows = weight_rows(weight, spec);
  const QParams qp = compute_qparams(rows, spec, lwc_up, lwc_low);
  const at::Tensor x = rows / (qp.scale * at::exp(weight_rows(log_proxy, spec)));
  const at::Tensor x_int = (at::round(x) - x).detach() + x;  // straight-through rounding
  const double qmax = static_cast<double>(spec.qmax());
  at::Tensor out = ((at::clamp(x_int + qp.zero, 0.0, qmax) - qp.zero) * qp.scale).reshape(weight.sizes());
  if (qparams_out != nullptr)
    *qparams_out = {qp.scale.detach().reshape({weight.size(0), -1}), qp.zero.reshape({weight.size(0), -1})};
  return out;
}

FusedPolicy fused_policy() {
  static const FusedPolicy policy = [] {
    const char* v = std::getenv("PTQ_FUSED_QUANT");
    const std::string s = v ? v : "off";
    if (s == "on") return FusedPolicy::kOn;
    if (s != "off") throw InputError(fmt::format("PTQ_FUSED_QUANT={}: expected on or off", s));
    return FusedPolicy::kOff;
  }();
  return policy;
}

at::Tensor fake_quant_per_token(const at::Tensor& x, const QuantizerSpec& spec, const at::Tensor& clip_logit) {
  if (!spec.enabled()) return x;
  // Training with PTQ_FUSED_QUANT=on: the fused quantizer (one pass, a hand-written backward: ~3x faster
  // than autograd's graph of composed ops on CPU). Inference keeps the in-place composition below (as
  // fast, bit-identical).
  if (fused_policy() == FusedPolicy::kOn && needs_grad(x, clip_logit, at::Tensor()) && fused_per_token_supported(x, spec))
    return fused_fake_quant_per_token(x, spec, clip_logit);
  return fake_quant_rows(x, compute_qparams(x, spec, clip_logit, clip_logit), spec);
}

at::Tensor lwc_init(const at::Tensor& weight, const QuantizerSpec& spec, double init) {
  const int64_t rows = weight_rows(weight, spec).size(0);
  return at::full({rows, 1}, init, weight.options().dtype(at::kFloat));
}

}  // namespace ptq::quant
