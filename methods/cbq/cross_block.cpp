#include "methods/cbq/cross_block.h"

#include "harness/recon/losses.h"
#include "methods/cbq/lora_rounding.h"
#include "methods/omniquant/let.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <map>
#include <memory>

namespace ptq::methods::cbq {

namespace {

struct ChannelRange {
  at::Tensor max, min;
  void add(const at::Tensor& x) {
    const at::Tensor r = x.detach().reshape({-1, x.size(-1)}).to(at::kFloat);
    const at::Tensor mx = std::get<0>(r.max(0)), mn = std::get<0>(r.min(0));
    max = max.defined() ? at::maximum(max, mx) : mx;
    min = min.defined() ? at::minimum(min, mn) : mn;
  }
};

// CFP on one FP block whose inputs on the calibration windows are `x`: exact channel scaling of the
// three activation pairs, then per-row weight truncation. Logs what it found.
DecoderBlock cfp_block(const DecoderBlock& fp, const LlamaConfig& c, const at::Tensor& x, const RopeTables& rope,
                       int64_t batch, const CrossBlockOptions& o, nlohmann::json& log) {
  at::NoGradGuard no_grad;
  ChannelRange qkv_in, fc1_in, down_in;
  for (int64_t j = 0; j < x.size(0); j += batch) {
    const at::Tensor xb = x.narrow(0, j, std::min(batch, x.size(0) - j));
    const at::Tensor n1 = input_norm(fp, c, xb);
    const at::Tensor h = xb + attention_forward(fp, c, n1, rope);
    const at::Tensor n2 = post_attention_norm(fp, c, h);
    qkv_in.add(n1);
    fc1_in.add(n2);
    down_in.add(at::silu(fp.gate_proj(n2)) * fp.up_proj(n2));
  }
  const ActivationOutliers a1 = activation_outlier_scales(qkv_in.max, qkv_in.min, o.cfp_options);
  const ActivationOutliers a2 = activation_outlier_scales(fc1_in.max, fc1_in.min, o.cfp_options);
  const ActivationOutliers a3 = activation_outlier_scales(down_in.max, down_in.min, o.cfp_options);
  methods::LetParams p;  // the scales in LET's form: the norm divided by s, the consuming columns times s
  p.qkv_scale = a1.scale.to(fp.input_layernorm.scalar_type());
  p.fc1_scale = a2.scale.to(fp.input_layernorm.scalar_type());
  p.out_scale = at::ones({c.kv_dim()}, p.qkv_scale.options());
  DecoderBlock b = methods::let_transform(fp, c, p);
  // up -> down: SiLU(gate) * up is linear in up, so up's rows / s and down's columns * s is exact.
  const at::Tensor s3 = a3.scale.to(fp.up_proj.weight.scalar_type());
  b.up_proj.weight = b.up_proj.weight / s3.unsqueeze(1);
  if (b.up_proj.bias.defined()) b.up_proj.bias = b.up_proj.bias / s3;
  b.down_proj.weight = b.down_proj.weight * s3.unsqueeze(0);
  int64_t truncated = 0;
  if (o.cfp_weights)
    for (Linear* l : b.linears())
      truncated += truncate_weight_outliers(l->weight, o.cfp_options);
  const auto count = [](const ActivationOutliers& a) { return a.positive.size() + a.negative.size(); };
  log = {{"outlier_channels", {{"qkv_input", count(a1)}, {"gate_up_input", count(a2)}, {"down_input", count(a3)}}},
         {"truncated_weights", truncated}};
  return b;
}

// CBQ's parts as the engine takes them: the rounding regulariser at the step's beta (warm-up, then
// annealed from beta_start to beta_end over the window's steps), folding = hardening.
class WindowParts final : public recon::BlockParts {
 public:
  WindowParts(std::unique_ptr<CbqBlockParts> parts, const CrossBlockOptions& o) : parts_(std::move(parts)), o_(o) {}
  std::vector<train::ParamGroup> param_groups() override { return parts_->param_groups(); }
  DecoderBlock temporary_block(const DecoderBlock&) const override { return parts_->temporary_block(); }
  at::Tensor regularizer(double progress) const override {
    return parts_->regularizer(rounding_beta(progress, o_.warmup, o_.beta_start, o_.beta_end));
  }
  void fold(DecoderBlock& block, const std::string& prefix, recon::Named& qparams) override {
    block = parts_->hardened_block(prefix, qparams);
  }
  recon::Named state() const override { return parts_->state(); }
  void load_state(const std::map<std::string, at::Tensor>& state) override { parts_->load_state(state); }
  ActivationHookPtr activation_hook(const ActivationHookPtr& model_hook) const override {
    return parts_->activation_hook(model_hook);
  }

 private:
  std::unique_ptr<CbqBlockParts> parts_;
  const CrossBlockOptions& o_;
};

}  // namespace

at::Tensor homologous_distance(const at::Tensor& q, const at::Tensor& fp, double kl_weight) {
  at::Tensor e = at::mse_loss(q, fp);
  return kl_weight > 0 ? e + kl_weight * recon::hidden_softmax_kl(q, fp) : e;
}

nlohmann::json cross_block_reconstruct(LlamaModel& model, const at::Tensor& calibration, const CrossBlockOptions& o,
                                       std::vector<std::pair<std::string, at::Tensor>>& qparams) {
  recon::ReconOptions ro = o.train;
  ro.window = o.window;
  ro.overlap = o.overlap;
  const double kl = o.kl_weight, homologous = o.homologous_weight;
  ro.loss = [kl](const at::Tensor& out, const at::Tensor& target) { return homologous_distance(out, target, kl); };
  if (homologous > 0)
    ro.target_2_loss = [kl, homologous](const at::Tensor& out, const at::Tensor& target_2) {
      return homologous * homologous_distance(out, target_2, kl);
    };
  ro.regularizer_weight = o.rounding_weight;
  nlohmann::json cfp_log = nlohmann::json::object();
  int64_t rounding_parameters = 0;
  // A block entering its first window: CFP on its FP-path inputs, then fresh parts.
  const recon::PartsFactory make_parts = [&](const recon::BlockInputs& in) -> std::unique_ptr<recon::BlockParts> {
    nlohmann::json log;
    const DecoderBlock pre = o.cfp ? cfp_block(in.block, in.config, in.x_fp, in.rope, in.batch_size, o, log) : in.block;
    if (o.cfp) cfp_log[std::to_string(in.index)] = log;
    CbqPartsOptions po = o.parts;
    po.seed = o.parts.seed + 7 * in.index;  // one seed per linear of the model
    auto parts = std::make_unique<CbqBlockParts>(pre, po);
    rounding_parameters += parts->rounding_parameters();
    return std::make_unique<WindowParts>(std::move(parts), o);
  };
  const recon::ReconReport report = recon::reconstruct(model, calibration, make_parts, ro);
  qparams.insert(qparams.end(), report.qparams.begin(), report.qparams.end());
  nlohmann::json out = report.to_json();
  out["cfp"] = cfp_log;
  out["rounding_parameters"] = rounding_parameters;
  return out;
}

}  // namespace ptq::methods::cbq
