#include "methods/omniquant/omniquant.h"

#include "harness/model/llama_model.h"
#include "harness/util/errors.h"
#include "methods/omniquant/omni_pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

const quant::ConfigSchema<OmniQuantConfig>& OmniQuantConfig::schema() {
  using C = OmniQuantConfig;
  static const auto schema =
      quant::ConfigSchema<C>("omniquant")
          .field("epochs", &C::epochs, "-1: scripts/ (20; 40 for W2A16)")
          .field("lwc", &C::lwc, "every released script")
          .field("lwc_lr", &C::lwc_lr, "0: by mode (released main.py 1e-2; paper §4.1 5e-3)")
          .choice("mode", &C::mode, "released: main.py + scripts at HEAD", {{"released", C::Mode::kReleased}, {"paper", C::Mode::kPaper}})
          .choice("aug_loss", &C::aug_loss, "auto: scripts (on for 2-bit weight-only)", quant::switch_names())
          .choice("let", &C::let, "auto: scripts (weight-activation on; weight-only LLaMA off)", quant::switch_names())
          .field("let_lr", &C::let_lr, "0: by mode (released main.py 5e-3; paper 1e-2)")
          .field("alpha", &C::alpha, "main.py --alpha 0.5")
          .choice("shift", &C::shift, "auto: released none for LLaMA (7984672); paper trained", quant::switch_names())
          .field("let_init", &C::let_init, "the reference's SmoothQuant init", {"smoothquant", "identity"})
          .choice("smooth_init", &C::smooth_init, "auto: released |W|.max (ae39458); paper W.max",
                  {{"auto", C::SmoothInit::kAuto}, {"abs_max", C::SmoothInit::kAbsMax}, {"signed_max", C::SmoothInit::kSignedMax}})
          .choice("qk_scale", &C::qk_scale, "released: free per channel", qk_scale_names())
          .choice("nan_policy", &C::nan_policy, "stop, as the reference (ours: skip-block)", recon::nan_policy_names())
          .field("batch_size", &C::batch_size, "omniquant.py: 1, fixed order");
  return schema;
}

nlohmann::json OmniQuantConfig::to_json() const { return schema().to_json(*this); }

OmniQuantConfig OmniQuantConfig::from_json(const nlohmann::json& j) {
  const OmniQuantConfig c = schema().from_json(j);
  if (c.epochs < -1) throw InputError(fmt::format("config of method 'omniquant': epochs {} (expected >= 0, or -1 = auto)", c.epochs));
  if (c.lwc_lr < 0) throw InputError("config of method 'omniquant': lwc_lr must be >= 0 (0 = by mode)");
  if (c.let_lr < 0) throw InputError("config of method 'omniquant': let_lr must be >= 0 (0 = by mode)");
  if (!(c.alpha >= 0 && c.alpha <= 1)) throw InputError(fmt::format("config of method 'omniquant': alpha {} (expected 0..1)", c.alpha));
  if (c.batch_size < 1) throw InputError("config of method 'omniquant': batch_size must be >= 1");
  return c;
}

namespace {

class OmniQuant final : public quant::MethodWithConfig<OmniQuantConfig> {
 public:
  std::string name() const override { return "omniquant"; }
  std::string paper_name() const override { return "OmniQuant"; }
  std::string description() const override {
    return "block-wise reconstruction with learnable weight clipping (LWC) and equivalent transformation (LET)";
  }
  std::string model_support() const override { return kLetModelSupport; }
  void check_model(const LlamaConfig& model, const quant::QuantSetting& setting, const nlohmann::json& config) const override {
    const OmniQuantConfig c = OmniQuantConfig::from_json(config);
    check_let_model(name(), model, quant::is_on(c.let, !weight_only(setting)), c.qk_scale);
  }
  bool needs_calibration(const nlohmann::json& config) const override {
    // LET's initial scales come from calibration activations even without training; "auto" LET may be
    // off for the setting, but the config alone cannot tell, so it asks for calibration too.
    const auto c = OmniQuantConfig::from_json(config);
    return c.epochs != 0 || c.let != quant::Switch::kOff;
  }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const OmniQuantConfig c = OmniQuantConfig::from_json(config);
    setting.validate_for(model.config());
    check_model(model.config(), setting, config);
    const bool weight_only = OmniQuant::weight_only(setting);
    const bool paper = c.mode == OmniQuantConfig::Mode::kPaper;
    OmniPipeline p;
    p.method = "omniquant";
    p.epochs = omniquant_epochs(c.epochs, setting);
    p.lwc.enabled = c.lwc;
    p.lwc.lr = c.lwc_lr > 0 ? c.lwc_lr : (paper ? 5e-3 : 1e-2);
    p.let.enabled = quant::is_on(c.let, !weight_only);
    p.let.lr = c.let_lr > 0 ? c.let_lr : (paper ? 1e-2 : 5e-3);
    p.let.init = c.let_init;
    p.let.alpha = c.alpha;
    p.let.shift = quant::is_on(c.shift, paper);
    p.let.train_shift = p.let.shift;
    using SmoothInit = OmniQuantConfig::SmoothInit;
    p.let.signed_weight_max = c.smooth_init == SmoothInit::kSignedMax || (c.smooth_init == SmoothInit::kAuto && paper);
    p.let.qk_scale = c.qk_scale;
    p.let.fold_in_fp32 = paper;
    p.recon.batch_size = c.batch_size;
    p.recon.aug_loss = quant::is_on(c.aug_loss, setting.wbits == 2 && weight_only);
    p.recon.nan_policy = c.nan_policy;
    return run_omni_pipeline(model, setting, config, ctx, p);
  }

 private:
  static bool weight_only(const quant::QuantSetting& s) { return s.abits >= 16 && s.kv_bits >= 16; }
};

}  // namespace

std::unique_ptr<quant::Method> make_omniquant() { return std::make_unique<OmniQuant>(); }

}  // namespace ptq::methods
