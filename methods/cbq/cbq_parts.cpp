#include "methods/cbq/cbq_parts.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace ptq::methods::cbq {

CbqBlockParts::CbqBlockParts(const DecoderBlock& block, const CbqPartsOptions& o) : block_(block), o_(o) {
  at::NoGradGuard no_grad;
  uint64_t seed = o.seed;
  for (Linear* l : block_.linears()) {
    const at::Tensor w = l->weight.detach().to(at::kFloat);
    quant::QParams qp;
    quant::fake_quant_weight(w, o.weight_spec, {}, {}, &qp);
    weights_.push_back(w);
    // The step is learned as a factor of its min/max init (S = S0 * f, f from 1): Adam's steps are then
    // relative, whatever the weight's scale (an absolute S with lr 1e-2 destroys small steps).
    init_steps_.push_back(qp.scale.clone());
    steps_.push_back(at::ones_like(qp.scale).requires_grad_(true));
    zeros_.push_back(qp.zero);
    if (o.rounding != Rounding::kNearest)
      rounding_.push_back(std::make_unique<LoraRounding>(w, qp, o.weight_spec,
                                                         LoraRoundingOptions{o.rounding == Rounding::kFull ? 0 : o.rank, 1.1, -0.1, seed}));
    ++seed;
  }
  if (o.act_steps) act_clip_ = at::full({kLinearInputSites}, o.act_clip_init, at::kFloat).requires_grad_(true);
}

std::vector<train::ParamGroup> CbqBlockParts::param_groups() {
  train::ParamGroup steps;
  steps.lr = o_.step_lr;
  steps.params = steps_;
  if (act_clip_.defined()) steps.params.push_back(act_clip_);
  std::vector<train::ParamGroup> out = {steps};
  if (!rounding_.empty()) {
    train::ParamGroup r;
    r.lr = o_.rounding_lr;
    for (const auto& lr : rounding_)
      for (const auto& p : lr->parameters()) r.params.push_back(p);
    out.push_back(r);
  }
  return out;
}

at::Tensor CbqBlockParts::weight_of(size_t k, bool hard) const {
  const at::Tensor step = (init_steps_[k] * steps_[k]).clamp_min(1e-5);  // a learned step never reaches 0
  if (!rounding_.empty()) {
    using Offsets = LoraRounding::Offsets;
    const Offsets training = o_.rounding_forward == RoundingForward::kSte ? Offsets::kStraightThrough : Offsets::kSoft;
    return rounding_[k]->quantized(step, hard ? Offsets::kHard : training);
  }
  // Round-to-nearest with the learnable step (straight-through rounding inside fake_quant_rows).
  const at::Tensor& w = weights_[k];
  const at::Tensor rows = o_.weight_spec.group_size > 0 ? w.reshape({-1, o_.weight_spec.group_size}) : w;
  const quant::QParams qp{step.reshape({-1, 1}), zeros_[k].reshape({-1, 1})};
  return quant::fake_quant_rows(rows, qp, o_.weight_spec).view_as(w);
}

DecoderBlock CbqBlockParts::temporary_block() const {
  DecoderBlock t = block_;
  auto ls = t.linears();
  for (size_t k = 0; k < ls.size(); ++k) ls[k]->weight = weight_of(k, false).to(ls[k]->weight.scalar_type());
  return t;
}

ActivationHookPtr CbqBlockParts::activation_hook(const ActivationHookPtr& model_hook) const {
  if (!act_clip_.defined()) return model_hook;
  return quant::with_clipping(model_hook, at::GradMode::is_enabled() ? act_clip_ : act_clip_.detach().clone());
}

at::Tensor CbqBlockParts::regularizer(double beta, bool mean) const {
  if (rounding_.empty() || beta < 0) return at::zeros({}, at::kFloat);
  at::Tensor sum = at::zeros({}, at::kFloat);
  for (const auto& r : rounding_) sum = sum + (mean ? r->regularizer(beta) / static_cast<double>(r->offsets()) : r->regularizer(beta));
  return mean ? sum / static_cast<double>(rounding_.size()) : sum;
}

NearBinary CbqBlockParts::rounding_near_binary() const {
  NearBinary n;
  for (const auto& r : rounding_) {
    n.near += r->near_binary();
    n.total += r->offsets();
  }
  return n;
}

DecoderBlock CbqBlockParts::hardened_block(const std::string& prefix,
                                           std::vector<std::pair<std::string, at::Tensor>>& qparams) const {
  at::NoGradGuard no_grad;
  DecoderBlock t = block_;
  auto ls = t.linears();
  for (size_t k = 0; k < ls.size(); ++k) {
    ls[k]->weight = weight_of(k, true).detach().to(ls[k]->weight.scalar_type());
    qparams.emplace_back(prefix + DecoderBlock::kLinearNames[k] + ".weight_scale", (init_steps_[k] * steps_[k].detach()).clamp_min(1e-5));
    qparams.emplace_back(prefix + DecoderBlock::kLinearNames[k] + ".weight_zero", zeros_[k].clone());
  }
  if (act_clip_.defined()) qparams.emplace_back(prefix + kActClipTensor, act_clip_.detach().clone());  // see activation_hook()
  return t;
}

std::vector<std::pair<std::string, at::Tensor>> CbqBlockParts::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t k = 0; k < steps_.size(); ++k) {
    out.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".step", steps_[k].detach().clone());
    if (!rounding_.empty()) {
      const auto params = rounding_[k]->parameters();
      for (size_t i = 0; i < params.size(); ++i)
        out.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".rounding." + std::to_string(i), params[i].detach().clone());
    }
  }
  if (act_clip_.defined()) out.emplace_back("act_clip", act_clip_.detach().clone());
  return out;
}

void CbqBlockParts::load_state(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard no_grad;
  std::vector<std::pair<std::string, at::Tensor>> slots;
  for (size_t k = 0; k < steps_.size(); ++k) {
    slots.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".step", steps_[k]);
    if (!rounding_.empty()) {
      const auto params = rounding_[k]->parameters();
      for (size_t i = 0; i < params.size(); ++i) slots.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".rounding." + std::to_string(i), params[i]);
    }
  }
  if (act_clip_.defined()) slots.emplace_back("act_clip", act_clip_);
  for (auto& [name, t] : slots) {
    const at::Tensor& v = state.at(name);
    if (!v.sizes().equals(t.sizes())) throw std::out_of_range(name);
    t.copy_(v);
  }
}

int64_t CbqBlockParts::rounding_parameters() const {
  int64_t n = 0;
  for (const auto& r : rounding_) n += r->parameter_count();
  return n;
}

}  // namespace ptq::methods::cbq
