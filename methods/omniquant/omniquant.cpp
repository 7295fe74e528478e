#include "omniquant/omniquant.h"

#include "model/llama_model.h"
#include "common/omni_pipeline.h"
#include "util/errors.h"
#include "util/strict_json.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

nlohmann::json OmniQuantConfig::to_json() const {
  return {{"epochs", epochs}, {"lwc", lwc},         {"lwc_lr", lwc_lr}, {"mode", mode},
          {"aug_loss", aug_loss}, {"let", let},   {"let_lr", let_lr}, {"alpha", alpha},
          {"shift", shift},   {"let_init", let_init}, {"smooth_init", smooth_init}, {"qk_scale", qk_scale}, {"nan_policy", nan_policy}, {"batch_size", batch_size}};
}

OmniQuantConfig OmniQuantConfig::from_json(const nlohmann::json& j) {
  OmniQuantConfig c;
  StrictJsonReader r(j, "config of method 'omniquant'");
  r.read("epochs", c.epochs);
  r.read("lwc", c.lwc);
  r.read("lwc_lr", c.lwc_lr);
  r.read_choice("mode", c.mode, {"released", "paper"});
  r.read_choice("aug_loss", c.aug_loss, {"auto", "on", "off"});
  r.read_choice("let", c.let, {"auto", "on", "off"});
  r.read("let_lr", c.let_lr);
  r.read("alpha", c.alpha);
  r.read_choice("shift", c.shift, {"auto", "on", "off"});
  r.read_choice("let_init", c.let_init, {"smoothquant", "identity"});
  r.read_choice("smooth_init", c.smooth_init, {"auto", "abs_max", "signed_max"});
  r.read_choice("qk_scale", c.qk_scale, {"released", "rope_paired", "off"});
  r.read_choice("nan_policy", c.nan_policy, {"stop", "skip-block"});
  r.read("batch_size", c.batch_size);
  r.finish();
  if (c.epochs < -1) throw InputError(fmt::format("config of method 'omniquant': epochs {} (expected >= 0, or -1 = auto)", c.epochs));
  if (c.lwc_lr < 0) throw InputError("config of method 'omniquant': lwc_lr must be >= 0 (0 = by mode)");
  if (c.let_lr < 0) throw InputError("config of method 'omniquant': let_lr must be >= 0 (0 = by mode)");
  if (!(c.alpha >= 0 && c.alpha <= 1)) throw InputError(fmt::format("config of method 'omniquant': alpha {} (expected 0..1)", c.alpha));
  if (c.batch_size < 1) throw InputError("config of method 'omniquant': batch_size must be >= 1");
  return c;
}

namespace {

class OmniQuant final : public quant::Method {
 public:
  std::string name() const override { return "omniquant"; }
  std::string description() const override {
    return "block-wise reconstruction with learnable weight clipping (LWC) and equivalent transformation (LET)";
  }
  nlohmann::json default_config() const override { return OmniQuantConfig{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    return OmniQuantConfig::from_json(overrides).to_json();
  }
  bool needs_calibration(const nlohmann::json& config) const override {
    // LET's initial scales come from calibration activations even without training; "auto" LET may be
    // off for the setting, but the config alone cannot tell, so it asks for calibration too.
    const auto c = OmniQuantConfig::from_json(config);
    return c.epochs != 0 || c.let != "off";
  }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const OmniQuantConfig c = OmniQuantConfig::from_json(config);
    setting.validate_for(model.config());
    const bool weight_only = setting.abits >= 16 && setting.kv_bits >= 16;
    const bool paper = c.mode == "paper";
    OmniPipeline p;
    p.method = "omniquant";
    p.epochs = c.epochs >= 0 ? c.epochs : (setting.wbits == 2 ? 40 : 20);
    p.lwc.enabled = c.lwc;
    p.lwc.lr = c.lwc_lr > 0 ? c.lwc_lr : (paper ? 5e-3 : 1e-2);
    p.let.enabled = c.let == "on" || (c.let == "auto" && !weight_only);
    p.let.lr = c.let_lr > 0 ? c.let_lr : (paper ? 1e-2 : 5e-3);
    p.let.init = c.let_init;
    p.let.alpha = c.alpha;
    p.let.shift = c.shift == "on" || (c.shift == "auto" && paper);
    p.let.train_shift = p.let.shift;
    p.let.signed_weight_max = c.smooth_init == "signed_max" || (c.smooth_init == "auto" && paper);
    p.let.qk_scale = c.qk_scale;
    p.let.fold_in_fp32 = paper;
    p.recon.batch_size = c.batch_size;
    p.recon.aug_loss = c.aug_loss == "on" || (c.aug_loss == "auto" && setting.wbits == 2 && weight_only);
    p.recon.nan_policy = c.nan_policy;
    return run_omni_pipeline(model, setting, config, ctx, p);
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_omniquant() { return std::make_unique<OmniQuant>(); }

}  // namespace ptq::methods
