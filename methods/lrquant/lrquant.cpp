#include "methods/lrquant/lrquant.h"

#include "harness/model/llama_model.h"
#include "harness/util/errors.h"
#include "methods/lrquant/lae_init.h"
#include "methods/lrquant/nlc_loss.h"
#include "methods/lrquant/tta.h"
#include "methods/omniquant/omni_pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>


namespace ptq::methods {

const quant::ConfigSchema<LRQuantConfig>& LRQuantConfig::schema() {
  using C = LRQuantConfig;
  static const auto schema =
      quant::ConfigSchema<C>("lrquant")
          .field("epochs", &C::epochs, "-1: 20 (README commands; main.py default 10), 40 for 2-bit weights as MPPQ [A]")
          .field("lwc", &C::lwc, "README commands")
          .field("lwc_lr", &C::lwc_lr, "main.py --lwc_lr")
          .field("let_lr", &C::let_lr, "main.py --let_lr")
          .choice("let", &C::let, "auto: README W4A4/W6A6 commands use --let; weight-only off [assumption]", quant::switch_names())
          .choice("nlc", &C::nlc, "released: RLQuant.py (the mean first)", nlc_form_names())
          .choice("aug_loss", &C::aug_loss, "README commands do not use --aug_loss",
                  {{"on", quant::Switch::kOn}, {"off", quant::Switch::kOff}})
          .choice("qk_scale", &C::qk_scale, "as OmniQuant's", qk_scale_names())
          .field("tta", &C::tta, "off: TTA is optional in the paper")
          .choice("tta_mode", &C::tta_mode, "paper: the last block on its true inputs", tta_mode_names())
          .field("tta_epochs", &C::tta_epochs, "TTA.py: hard-coded 5")
          .field("tta_let_lr", &C::tta_let_lr, "0 = let_lr (TTA.py uses --let_lr)")
          .field("tta_lwc_lr", &C::tta_lwc_lr, "TTA.py: hard-coded 1e-2")
          .choice("tta_datasets", &C::tta_datasets, "auto: main.py (dataset != calib_dataset)",
                  {{"auto", C::TtaDatasets::kAuto}, {"all", C::TtaDatasets::kAll}})
          .choice("nan_policy", &C::nan_policy, "stop, as the reference (ours: skip-block)", recon::nan_policy_names())
          .field("batch_size", &C::batch_size, "RLQuant.py: 1, fixed order");
  return schema;
}

nlohmann::json LRQuantConfig::to_json() const { return schema().to_json(*this); }

LRQuantConfig LRQuantConfig::from_json(const nlohmann::json& j) {
  const LRQuantConfig c = schema().from_json(j);
  const std::string& where = schema().context();
  if (c.epochs < -1) throw InputError(fmt::format("{}: epochs {} (expected >= 0, or -1 = auto)", where, c.epochs));
  if (c.tta_epochs < 1) throw InputError(fmt::format("{}: tta_epochs {} (expected >= 1)", where, c.tta_epochs));
  if (c.lwc_lr < 0 || c.let_lr <= 0 || c.tta_let_lr < 0 || c.tta_lwc_lr < 0)
    throw InputError(fmt::format("{}: learning rates must be positive (tta_let_lr 0 = let_lr)", where));
  if (c.batch_size < 1) throw InputError(fmt::format("{}: batch_size must be >= 1", where));
  return c;
}

methods::LetOptions lrquant_let(quant::Switch let, double lr, QkScale qk_scale, const quant::QuantSetting& setting) {
  const bool weight_only = setting.abits >= 16 && setting.kv_bits >= 16;
  methods::LetOptions o;
  o.enabled = quant::is_on(let, !weight_only);
  o.lr = lr;
  o.init = "lae";
  o.initialiser = lae_init;
  o.shift = o.train_shift = true;
  o.qk_scale = qk_scale;
  o.fold_in_fp32 = true;
  return o;
}

namespace {

class LRQuant final : public quant::MethodWithConfig<LRQuantConfig> {
 public:
  std::string name() const override { return "lrquant"; }
  std::string paper_name() const override { return "LRQuant"; }
  std::string description() const override {
    return "OmniQuant's pipeline with LAE scale init, trained shifts, MSE + NLC loss, optional test-time adaptation";
  }
  std::string model_support() const override { return std::string(kLetModelSupport) + "; the same for its test-time adaptation"; }
  void check_model(const LlamaConfig& model, const quant::QuantSetting& setting, const nlohmann::json& config) const override {
    const LRQuantConfig c = LRQuantConfig::from_json(config);
    check_let_model(name(), model, lrquant_let(c.let, c.let_lr, c.qk_scale, setting).enabled, c.qk_scale);
  }
  bool needs_calibration(const nlohmann::json& config) const override {
    const auto c = LRQuantConfig::from_json(config);
    return c.epochs != 0 || c.let != quant::Switch::kOff;
  }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const LRQuantConfig c = LRQuantConfig::from_json(config);
    setting.validate_for(model.config());
    check_model(model.config(), setting, config);
    OmniPipeline p;
    p.method = "lrquant";
    p.epochs = omniquant_epochs(c.epochs, setting);
    p.lwc.enabled = c.lwc;
    p.lwc.lr = c.lwc_lr;
    p.let = lrquant_let(c.let, c.let_lr, c.qk_scale, setting);
    p.recon.batch_size = c.batch_size;
    p.recon.aug_loss = c.aug_loss == quant::Switch::kOn;
    p.recon.nan_policy = c.nan_policy;
    const NlcForm nlc = c.nlc;
    p.recon.loss = [nlc](const at::Tensor& out, const at::Tensor& target) { return mse_plus_nlc(out, target, nlc); };
    quant::MethodReport report = run_omni_pipeline(model, setting, config, ctx, p);
    const nlohmann::json named = c.to_json();  // the enum fields by name
    report.summary["nlc"] = named.at("nlc");
    if (c.tta)
      report.summary["tta"] = {{"mode", named.at("tta_mode")}, {"epochs", c.tta_epochs}, {"datasets", named.at("tta_datasets")},
                               {"transductive", true}};
    return report;
  }

  // TTA adapts a fresh copy of the FP last block: the adapter keeps one of the model as it is now.
  quant::EvalAdapter evaluation_adapter(const LlamaModel& fp_model, const quant::QuantSetting& setting,
                                        const nlohmann::json& config) const override {
    const LRQuantConfig c = LRQuantConfig::from_json(config);
    if (!c.tta) return {};
    check_model(fp_model.config(), setting, config);
    TtaOptions t;
    t.mode = c.tta_mode;
    t.all_datasets = c.tta_datasets == LRQuantConfig::TtaDatasets::kAll;
    t.epochs = c.tta_epochs;
    t.let_lr = c.tta_let_lr > 0 ? c.tta_let_lr : c.let_lr;
    t.lwc_lr = c.tta_lwc_lr;
    t.let = lrquant_let(c.let, c.let_lr, c.qk_scale, setting).enabled;
    t.lwc = c.lwc;
    t.batch_size = c.batch_size;
    t.nan_policy = c.nan_policy;
    t.precision = recon::precision_policy(setting, fp_model.device(), fp_model.dtype());
    t.nlc = c.nlc;
    t.qk_scale = c.qk_scale;
    t.weight_spec = setting.weight_spec();
    return make_tta_adapter(fp_model.block(fp_model.num_blocks() - 1), t);
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_lrquant() { return std::make_unique<LRQuant>(); }

}  // namespace ptq::methods
