#include "methods/cbq/cross_block.h"

#include "harness/recon/losses.h"
#include "methods/cbq/lora_rounding.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <map>
#include <memory>

namespace ptq::methods::cbq {

namespace {

// CBQ's parts as the engine takes them: the rounding regulariser at the step's beta (warm-up, then
// annealed from beta_start to beta_end over the window's steps), folding = hardening.
class WindowParts final : public recon::BlockParts {
 public:
  // `near_binary`: where fold() records the block's offsets near 0 or 1 before hardening.
  WindowParts(std::unique_ptr<CbqBlockParts> parts, const CrossBlockOptions& o, NearBinary* near_binary)
      : parts_(std::move(parts)), o_(o), near_binary_(near_binary) {}
  std::vector<train::ParamGroup> param_groups() override { return parts_->param_groups(); }
  DecoderBlock temporary_block(const DecoderBlock&) const override { return parts_->temporary_block(); }
  at::Tensor regularizer(double progress) const override {
    return parts_->regularizer(rounding_beta(progress, o_.warmup, o_.beta_start, o_.beta_end),
                               o_.regularizer_scale == RegularizerScale::kMean);
  }
  void fold(DecoderBlock& block, const std::string& prefix, recon::Named& qparams) override {
    *near_binary_ = parts_->rounding_near_binary();
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
  NearBinary* near_binary_;
};

// lambda_r as the engine applies it (to the sum over the window's blocks, or to their mean).
double engine_regularizer_weight(const CrossBlockOptions& o, int64_t hidden) {
  if (o.regularizer_scale == RegularizerScale::kMean) return o.rounding_weight;
  return o.distance == Distance::kPaper ? o.rounding_weight : o.rounding_weight / static_cast<double>(hidden);
}

nlohmann::json near_binary_log(const std::map<int64_t, NearBinary>& per_block) {
  nlohmann::json blocks = nlohmann::json::object();
  int64_t near = 0, total = 0;
  for (const auto& [i, n] : per_block) {
    blocks[std::to_string(i)] = n.fraction();
    near += n.near;
    total += n.total;
  }
  return {{"blocks", blocks}, {"all", NearBinary{near, total}.fraction()}};
}

}  // namespace

at::Tensor homologous_distance(const at::Tensor& q, const at::Tensor& fp, double kl_weight, Distance d) {
  at::Tensor e = d == Distance::kPaper ? (q.to(at::kFloat) - fp.to(at::kFloat)).pow(2).sum(-1).mean() : at::mse_loss(q, fp);
  return kl_weight > 0 ? e + kl_weight * recon::hidden_softmax_kl(q, fp) : e;
}

nlohmann::json cross_block_reconstruct(LlamaModel& model, const at::Tensor& calibration, const CrossBlockOptions& o,
                                       std::vector<std::pair<std::string, at::Tensor>>& qparams) {
  recon::ReconOptions ro = o.train;
  ro.window = o.window;
  ro.overlap = o.overlap;
  const double kl = o.kl_weight, homologous = o.homologous_weight;
  const Distance d = o.distance;
  ro.loss = [kl, d](const at::Tensor& out, const at::Tensor& target) { return homologous_distance(out, target, kl, d); };
  if (homologous > 0)
    ro.target_2_loss = [kl, homologous, d](const at::Tensor& out, const at::Tensor& target_2) {
      return homologous * homologous_distance(out, target_2, kl, d);
    };
  ro.regularizer_weight = engine_regularizer_weight(o, model.config().hidden_size);
  ro.sum_regularizers = o.regularizer_scale == RegularizerScale::kAdaRound;
  nlohmann::json cfp_log = nlohmann::json::object();
  int64_t rounding_parameters = 0;
  std::map<int64_t, NearBinary> near_binary;  // per block, at hardening
  // A block entering its first window: CFP on its FP-path inputs, then fresh parts.
  const recon::PartsFactory make_parts = [&](const recon::BlockInputs& in) -> std::unique_ptr<recon::BlockParts> {
    nlohmann::json log;
    const DecoderBlock pre =
        o.cfp ? cfp_transform_block(in.block, in.config, in.x_fp, in.rope, in.batch_size, o.cfp_options, o.cfp_steps, log) : in.block;
    if (o.cfp) cfp_log[std::to_string(in.index)] = log;
    CbqPartsOptions po = o.parts;
    po.seed = o.parts.seed + 7 * in.index;  // one seed per linear of the model
    auto parts = std::make_unique<CbqBlockParts>(pre, po);
    rounding_parameters += parts->rounding_parameters();
    return std::make_unique<WindowParts>(std::move(parts), o, &near_binary[in.index]);
  };
  const recon::ReconReport report = recon::reconstruct(model, calibration, make_parts, ro);
  qparams.insert(qparams.end(), report.qparams.begin(), report.qparams.end());
  nlohmann::json out = report.to_json();
  out["cfp"] = cfp_log;
  out["rounding_parameters"] = rounding_parameters;
  if (rounding_parameters > 0) out["rounding_near_binary"] = near_binary_log(near_binary);
  return out;
}

}  // namespace ptq::methods::cbq
