#include "mppq/mppq.h"

#include "common/omni_pipeline.h"
#include "lrquant/lrquant.h"
#include "recon/clip_search.h"
#include "recon/losses.h"
#include "util/errors.h"
#include "util/strict_json.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

nlohmann::json MppqConfig::to_json() const {
  return {{"epochs", epochs},
          {"lwc", lwc},
          {"lwc_lr", lwc_lr},
          {"let_lr", let_lr},
          {"let", let},
          {"mse_weight", mse_weight},
          {"cos_weight", cos_weight},
          {"kl_weight", kl_weight},
          {"proxy", proxy},
          {"proxy_lr", proxy_lr},
          {"presearch", presearch},
          {"presearch_grid", presearch_grid.empty() ? recon::default_clip_grid() : presearch_grid},
          {"presearch_tokens", presearch_tokens},
          {"qk_scale", qk_scale},
          {"nan_policy", nan_policy},
          {"batch_size", batch_size}};
}

MppqConfig MppqConfig::from_json(const nlohmann::json& j) {
  MppqConfig c;
  const std::string where = "config of method 'mppq'";
  StrictJsonReader r(j, where);
  r.read("epochs", c.epochs);
  r.read("lwc", c.lwc);
  r.read("lwc_lr", c.lwc_lr);
  r.read("let_lr", c.let_lr);
  r.read_choice("let", c.let, {"auto", "on", "off"});
  r.read("mse_weight", c.mse_weight);
  r.read("cos_weight", c.cos_weight);
  r.read("kl_weight", c.kl_weight);
  r.read("proxy", c.proxy);
  r.read("proxy_lr", c.proxy_lr);
  r.read("presearch", c.presearch);
  r.read("presearch_grid", c.presearch_grid);
  r.read("presearch_tokens", c.presearch_tokens);
  r.read_choice("qk_scale", c.qk_scale, {"released", "rope_paired", "off"});
  r.read_choice("nan_policy", c.nan_policy, {"stop", "skip-block"});
  r.read("batch_size", c.batch_size);
  r.finish();
  if (c.epochs < -1) throw InputError(fmt::format("{}: epochs {} (expected >= 0, or -1 = auto)", where, c.epochs));
  if (c.mse_weight < 0 || c.cos_weight < 0 || c.kl_weight < 0 || c.mse_weight + c.cos_weight + c.kl_weight <= 0)
    throw InputError(fmt::format("{}: loss weights must be >= 0 and not all 0", where));
  if (c.lwc_lr < 0 || c.let_lr <= 0 || c.proxy_lr <= 0) throw InputError(fmt::format("{}: learning rates must be positive", where));
  for (const double g : c.presearch_grid)
    if (!(g > 0 && g <= 1)) throw InputError(fmt::format("{}: presearch_grid value {} (expected 0 < c <= 1)", where, g));
  if (c.presearch_tokens < 1) throw InputError(fmt::format("{}: presearch_tokens must be >= 1", where));
  if (c.batch_size < 1) throw InputError(fmt::format("{}: batch_size must be >= 1", where));
  return c;
}

namespace {

class Mppq final : public quant::Method {
 public:
  std::string name() const override { return "mppq"; }
  std::string description() const override {
    return "LRQuant's pipeline with mixed MSE+NLC+KL supervision, proxy rounding and pre-searched clipping";
  }
  nlohmann::json default_config() const override { return MppqConfig{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override { return MppqConfig::from_json(overrides).to_json(); }
  bool needs_calibration(const nlohmann::json&) const override { return true; }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const MppqConfig c = MppqConfig::from_json(config);
    setting.validate_for(model.config());
    OmniPipeline p;
    p.method = "mppq";
    p.epochs = c.epochs >= 0 ? c.epochs : (setting.wbits == 2 ? 40 : 20);
    p.lwc.enabled = c.lwc;
    p.lwc.lr = c.lwc_lr;
    if (c.presearch) p.lwc.presearch_grid = c.presearch_grid.empty() ? recon::default_clip_grid() : c.presearch_grid;
    p.lwc.presearch_tokens = c.presearch_tokens;
    p.lwc.proxy = c.proxy;
    p.lwc.proxy_lr = c.proxy_lr;
    p.let = lrquant_let(c.let, c.let_lr, c.qk_scale, setting);
    p.recon.batch_size = c.batch_size;
    p.recon.nan_policy = c.nan_policy;
    const recon::MixedLossWeights w{c.mse_weight, c.cos_weight, c.kl_weight};
    p.recon.loss = [w](const at::Tensor& out, const at::Tensor& target) { return recon::mixed_loss(out, target, w); };
    quant::MethodReport report = run_omni_pipeline(model, setting, config, ctx, p);
    report.summary["supervision"] = {{"mse", c.mse_weight}, {"cos", c.cos_weight}, {"kl", c.kl_weight}};
    report.summary["proxy_rounding"] = c.proxy;
    report.summary["presearch"] = c.presearch;
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_mppq() { return std::make_unique<Mppq>(); }

}  // namespace ptq::methods
