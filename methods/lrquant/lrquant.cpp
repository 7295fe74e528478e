#include "lrquant/lrquant.h"

#include "common/omni_pipeline.h"
#include "lrquant/tta.h"
#include "model/llama_model.h"
#include "recon/losses.h"
#include "util/errors.h"
#include "util/strict_json.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <optional>

namespace ptq::methods {

nlohmann::json LRQuantConfig::to_json() const {
  return {{"epochs", epochs},         {"lwc", lwc},           {"lwc_lr", lwc_lr},       {"let_lr", let_lr},
          {"let", let},               {"nlc", nlc},           {"aug_loss", aug_loss},   {"qk_scale", qk_scale},
          {"tta", tta},               {"tta_mode", tta_mode}, {"tta_epochs", tta_epochs}, {"tta_let_lr", tta_let_lr},
          {"tta_lwc_lr", tta_lwc_lr}, {"tta_datasets", tta_datasets}, {"nan_policy", nan_policy}, {"batch_size", batch_size}};
}

LRQuantConfig LRQuantConfig::from_json(const nlohmann::json& j) {
  LRQuantConfig c;
  const std::string where = "config of method 'lrquant'";
  StrictJsonReader r(j, where);
  r.read("epochs", c.epochs);
  r.read("lwc", c.lwc);
  r.read("lwc_lr", c.lwc_lr);
  r.read("let_lr", c.let_lr);
  r.read_choice("let", c.let, {"auto", "on", "off"});
  r.read_choice("nlc", c.nlc, {"released", "per_token", "off"});
  r.read_choice("aug_loss", c.aug_loss, {"on", "off"});
  r.read_choice("qk_scale", c.qk_scale, {"released", "rope_paired", "off"});
  r.read("tta", c.tta);
  r.read_choice("tta_mode", c.tta_mode, {"paper", "released"});
  r.read("tta_epochs", c.tta_epochs);
  r.read("tta_let_lr", c.tta_let_lr);
  r.read("tta_lwc_lr", c.tta_lwc_lr);
  r.read_choice("tta_datasets", c.tta_datasets, {"auto", "all"});
  r.read_choice("nan_policy", c.nan_policy, {"stop", "skip-block"});
  r.read("batch_size", c.batch_size);
  r.finish();
  if (c.epochs < 0) throw InputError(fmt::format("{}: epochs {} (expected >= 0)", where, c.epochs));
  if (c.tta_epochs < 1) throw InputError(fmt::format("{}: tta_epochs {} (expected >= 1)", where, c.tta_epochs));
  if (c.lwc_lr < 0 || c.let_lr <= 0 || c.tta_let_lr < 0 || c.tta_lwc_lr < 0)
    throw InputError(fmt::format("{}: learning rates must be positive (tta_let_lr 0 = let_lr)", where));
  if (c.batch_size < 1) throw InputError(fmt::format("{}: batch_size must be >= 1", where));
  return c;
}

recon::LetOptions lrquant_let(const std::string& let, double lr, const std::string& qk_scale, const quant::QuantSetting& setting) {
  const bool weight_only = setting.abits >= 16 && setting.kv_bits >= 16;
  recon::LetOptions o;
  o.enabled = let == "on" || (let == "auto" && !weight_only);
  o.lr = lr;
  o.init = "lae";
  o.shift = o.train_shift = true;
  o.qk_scale = qk_scale;
  o.fold_in_fp32 = true;
  return o;
}

namespace {

class LRQuant final : public quant::Method {
 public:
  std::string name() const override { return "lrquant"; }
  std::string description() const override {
    return "OmniQuant's pipeline with LAE scale init, trained shifts, MSE + NLC loss, optional test-time adaptation";
  }
  nlohmann::json default_config() const override { return LRQuantConfig{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    return LRQuantConfig::from_json(overrides).to_json();
  }
  bool needs_calibration(const nlohmann::json& config) const override {
    const auto c = LRQuantConfig::from_json(config);
    return c.epochs != 0 || c.let != "off";
  }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const LRQuantConfig c = LRQuantConfig::from_json(config);
    setting.validate_for(model.config());
    OmniPipeline p;
    p.method = "lrquant";
    p.epochs = c.epochs;
    p.lwc.enabled = c.lwc;
    p.lwc.lr = c.lwc_lr;
    p.let = lrquant_let(c.let, c.let_lr, c.qk_scale, setting);
    p.recon.batch_size = c.batch_size;
    p.recon.aug_loss = c.aug_loss == "on";
    p.recon.nan_policy = c.nan_policy;
    const std::string nlc = c.nlc;
    p.recon.loss = [nlc](const at::Tensor& out, const at::Tensor& target) {
      at::Tensor l = at::mse_loss(out, target);
      return nlc == "off" ? l : l + recon::nlc_loss(out, target, nlc);
    };
    // TTA adapts a fresh copy of the FP last block: keep it before the pipeline quantizes the model.
    std::optional<DecoderBlock> fp_last;
    if (c.tta) fp_last = model.block(model.blocks.size() - 1);
    quant::MethodReport report = run_omni_pipeline(model, setting, config, ctx, p);
    report.summary["nlc"] = c.nlc;
    if (c.tta) {
      TtaOptions t;
      t.mode = c.tta_mode;
      t.datasets = c.tta_datasets;
      t.epochs = c.tta_epochs;
      t.let_lr = c.tta_let_lr > 0 ? c.tta_let_lr : c.let_lr;
      t.lwc_lr = c.tta_lwc_lr;
      t.let = p.let.enabled;
      t.nlc = c.nlc;
      t.qk_scale = c.qk_scale;
      t.weight_spec = setting.weight_spec();
      report.evaluation_adapter = make_tta_adapter(*fp_last, t);
      report.summary["tta"] = {{"mode", c.tta_mode}, {"epochs", c.tta_epochs}, {"datasets", c.tta_datasets},
                               {"transductive", true}};
    }
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_lrquant() { return std::make_unique<LRQuant>(); }

}  // namespace ptq::methods
