#include "methods/mppq/mppq.h"

#include "harness/util/errors.h"
#include "methods/lrquant/lrquant.h"
#include "methods/mppq/clip_search.h"
#include "methods/mppq/mixed_loss.h"
#include "methods/omniquant/omni_pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

const quant::ConfigSchema<MppqConfig>& MppqConfig::schema() {
  using C = MppqConfig;
  static const auto schema =
      quant::ConfigSchema<C>("mppq")
          .field("epochs", &C::epochs, "-1: 20, 40 for 2-bit weights [A: OmniQuant's schedule]")
          .field("lwc", &C::lwc, "[A] LRQuant")
          .field("lwc_lr", &C::lwc_lr, "[A] LRQuant")
          .field("let_lr", &C::let_lr, "[A] LRQuant")
          .choice("let", &C::let, "auto: as LRQuant", quant::switch_names())
          .field("mse_weight", &C::mse_weight, "[A] LRQuant's 1:1")
          .field("cos_weight", &C::cos_weight, "[A] LRQuant's 1:1")
          .field("kl_weight", &C::kl_weight, "[A] CBQ's KL 1:1")
          .field("proxy", &C::proxy, "the abstract's proxy rounding [A: FlexRound's form]")
          .field("proxy_lr", &C::proxy_lr, "[A]")
          .field("param_regularization", &C::param_regularization, "[A] the abstract's strong regularization: L2 to the init")
          .field("presearch", &C::presearch, "the abstract's coarse pre-search")
          .field("presearch_grid", &C::presearch_grid, "[A] 0.982 (LWC's init), 0.95, ..., 0.50")
          .field("presearch_tokens", &C::presearch_tokens, "[A]")
          .choice("qk_scale", &C::qk_scale, "as OmniQuant's", qk_scale_names())
          .choice("nan_policy", &C::nan_policy, "stop (ours: skip-block)", recon::nan_policy_names())
          .field("batch_size", &C::batch_size, "1, fixed order [A: LRQuant]");
  return schema;
}

nlohmann::json MppqConfig::to_json() const { return schema().to_json(*this); }

MppqConfig MppqConfig::from_json(const nlohmann::json& j) {
  MppqConfig c = schema().from_json(j);
  const std::string& where = schema().context();
  if (c.presearch_grid.empty()) c.presearch_grid = default_clip_grid();
  if (c.epochs < -1) throw InputError(fmt::format("{}: epochs {} (expected >= 0, or -1 = auto)", where, c.epochs));
  if (c.mse_weight < 0 || c.cos_weight < 0 || c.kl_weight < 0 || c.mse_weight + c.cos_weight + c.kl_weight <= 0)
    throw InputError(fmt::format("{}: loss weights must be >= 0 and not all 0", where));
  if (!(c.param_regularization >= 0))
    throw InputError(fmt::format("{}: param_regularization {} (expected >= 0)", where, c.param_regularization));
  if (c.lwc_lr < 0 || c.let_lr <= 0 || c.proxy_lr <= 0) throw InputError(fmt::format("{}: learning rates must be positive", where));
  for (const double g : c.presearch_grid)
    if (!(g > 0 && g <= 1)) throw InputError(fmt::format("{}: presearch_grid value {} (expected 0 < c <= 1)", where, g));
  if (c.presearch_tokens < 1) throw InputError(fmt::format("{}: presearch_tokens must be >= 1", where));
  if (c.batch_size < 1) throw InputError(fmt::format("{}: batch_size must be >= 1", where));
  return c;
}

namespace {

class Mppq final : public quant::MethodWithConfig<MppqConfig> {
 public:
  std::string name() const override { return "mppq"; }
  std::string paper_name() const override { return "MPPQ"; }
  std::string description() const override {
    return "LRQuant's pipeline with mixed MSE+NLC+KL supervision, proxy rounding and pre-searched clipping";
  }
  bool needs_calibration(const nlohmann::json&) const override { return true; }
  std::string model_support() const override { return kLetModelSupport; }
  void check_model(const LlamaConfig& model, const quant::QuantSetting& setting, const nlohmann::json& config) const override {
    const MppqConfig c = MppqConfig::from_json(config);
    check_let_model(name(), model, lrquant_let(c.let, c.let_lr, c.qk_scale, setting).enabled, c.qk_scale);
  }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const MppqConfig c = MppqConfig::from_json(config);
    setting.validate_for(model.config());
    check_model(model.config(), setting, config);
    OmniPipeline p;
    p.method = "mppq";
    p.epochs = omniquant_epochs(c.epochs, setting);
    p.lwc.enabled = c.lwc;
    p.lwc.lr = c.lwc_lr;
    if (c.presearch) {
      const std::vector<double> grid = c.presearch_grid;
      const int64_t tokens = c.presearch_tokens;
      p.lwc.initial_ratios = [grid, tokens](const DecoderBlock& b, const recon::BlockInputs& in, const quant::QuantizerSpec& spec) {
        return presearch_clip_ratios(b, in, spec, grid, tokens);
      };
    }
    p.lwc.proxy = c.proxy;
    p.lwc.proxy_lr = c.proxy_lr;
    p.lwc.anchor_to_init = c.param_regularization > 0;
    p.recon.regularizer_weight = c.param_regularization;
    p.let = lrquant_let(c.let, c.let_lr, c.qk_scale, setting);
    p.recon.batch_size = c.batch_size;
    p.recon.nan_policy = c.nan_policy;
    const methods::MixedLossWeights w{c.mse_weight, c.cos_weight, c.kl_weight};
    p.recon.loss = [w](const at::Tensor& out, const at::Tensor& target) { return methods::mixed_loss(out, target, w); };
    quant::MethodReport report = run_omni_pipeline(model, setting, config, ctx, p);
    report.summary["supervision"] = {{"mse", c.mse_weight}, {"cos", c.cos_weight}, {"kl", c.kl_weight}};
    report.summary["proxy_rounding"] = c.proxy;
    report.summary["presearch"] = c.presearch;
    report.summary["param_regularization"] = c.param_regularization;
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_mppq() { return std::make_unique<Mppq>(); }

}  // namespace ptq::methods
