#include "methods/omniquant/omni_pipeline.h"

#include "harness/model/llama_model.h"
#include "harness/ptq/config_schema.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

void fold_rtn(DecoderBlock& b, const quant::QuantizerSpec& spec, const std::string& prefix,
              std::vector<std::pair<std::string, at::Tensor>>& qparams) {
  if (!spec.enabled()) return;
  const auto ls = b.linears();
  for (size_t k = 0; k < ls.size(); ++k) {
    quant::QParams q;
    ls[k]->weight = quant::fake_quant_weight(ls[k]->weight, spec, {}, {}, &q);
    qparams.emplace_back(prefix + DecoderBlock::kLinearNames[k] + ".weight_scale", q.scale);
    qparams.emplace_back(prefix + DecoderBlock::kLinearNames[k] + ".weight_zero", q.zero);
  }
}

int omniquant_epochs(int configured, const quant::QuantSetting& setting) {
  return configured >= 0 ? configured : (setting.wbits == 2 ? 40 : 20);
}

quant::MethodReport run_omni_pipeline(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                                      quant::MethodContext& ctx, OmniPipeline p) {
  at::Tensor calibration = at::empty({0, 0}, at::kLong);
  if (p.epochs > 0 || p.let.enabled) {
    if (ctx.calibration == nullptr || !ctx.calibration->defined())
      throw InputError(fmt::format("{} needs calibration windows (experiment spec \"calibration\", quantize --calib){}",
                                   p.method, p.epochs == 0 ? " for LET's initial scales" : ""));
    calibration = *ctx.calibration;
  }
  quant::apply_activation_quant(model, setting);
  quant::MethodReport report;
  const quant::QuantizerSpec wspec = setting.weight_spec();
  if (!wspec.enabled() && !p.let.enabled) {
    report.summary = {{"note", "16-bit weights and no LET: nothing to reconstruct"}};
    return report;
  }
  recon::ReconOptions& ro = p.recon;
  ro.epochs = p.epochs;
  ro.progress = ctx.progress;
  ro.activations = ctx.activations;
  ro.loss_log = ctx.loss_log;
  ro.profile_trace = ctx.profile_trace;
  ro.precision = recon::precision_policy(setting, model.device(), model.dtype());
  ro.fallback_fold = [&](DecoderBlock& b, const std::string& prefix, std::vector<std::pair<std::string, at::Tensor>>& qp) {
    fold_rtn(b, wspec, prefix, qp);
  };
  if (!ctx.work_dir.empty() && p.epochs > 0) {
    ro.checkpoint_dir = ctx.work_dir + "/" + p.method;
    ro.checkpoint_key = recon::checkpoint_key(setting.str(), config, calibration);
  }
  const recon::ReconReport rr = recon::reconstruct(
      model, calibration, [&](const recon::BlockInputs& in) { return methods::make_omni_parts(in, wspec, p.lwc, p.let); }, ro);
  model.sync_bias_layout();  // biases from non-zero LET shifts, so the saved checkpoint loads back
  report.qparams = rr.qparams;
  report.summary = {{"epochs", p.epochs},
                    {"lwc", p.lwc.enabled},
                    {"lwc_lr", p.lwc.enabled ? p.lwc.lr : 0.0},
                    {"aug_loss", ro.aug_loss},
                    {"let", p.let.enabled},
                    {"calibration_windows", calibration.size(0)},
                    {"precision", ro.precision.describe()},
                    {"recon", rr.to_json()}};
  if (p.let.enabled)
    report.summary["let_options"] = {{"let_lr", p.let.lr},
                                     {"init", p.let.init},
                                     {"alpha", p.let.alpha},
                                     {"shift", p.let.shift},
                                     {"smooth_init", p.let.signed_weight_max ? "signed_max" : "abs_max"},
                                     {"qk_scale", quant::name_in(qk_scale_names(), p.let.qk_scale)},
                                     {"fold_in_fp32", p.let.fold_in_fp32},
                                     {"gqa_shared_scales", model.config().kv_groups() > 1}};
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& unit : rr.units)
    if (!unit.log.skipped.empty()) skipped.push_back(unit.blocks.at(0));
  if (!skipped.empty()) report.summary["blocks_kept_rtn_after_nan"] = skipped;
  return report;
}

}  // namespace ptq::methods
