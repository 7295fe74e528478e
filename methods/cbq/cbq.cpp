#include "cbq/cbq.h"

#include "cbq/cross_block.h"
#include "model/llama_model.h"
#include "util/errors.h"
#include "util/strict_json.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

nlohmann::json CbqConfig::to_json() const {
  return {{"window", window},
          {"overlap", overlap},
          {"epochs", epochs},
          {"step_lr", step_lr},
          {"act_steps", act_steps},
          {"act_clip_init", act_clip_init},
          {"rounding_lr", rounding_lr},
          {"rounding", rounding},
          {"rank", rank},
          {"rounding_forward", rounding_forward},
          {"rounding_weight", rounding_weight},
          {"warmup", warmup},
          {"beta_start", beta_start},
          {"beta_end", beta_end},
          {"kl_weight", kl_weight},
          {"homologous_weight", homologous_weight},
          {"cfp", cfp},
          {"cfp_quantiles", cfp_quantiles},
          {"cfp_weights", cfp_weights},
          {"batch_size", batch_size},
          {"nan_policy", nan_policy}};
}

CbqConfig CbqConfig::from_json(const nlohmann::json& j) {
  CbqConfig c;
  const std::string where = "config of method 'cbq'";
  StrictJsonReader r(j, where);
  r.read("window", c.window);
  r.read("overlap", c.overlap);
  r.read("epochs", c.epochs);
  r.read("step_lr", c.step_lr);
  r.read("act_steps", c.act_steps);
  r.read("act_clip_init", c.act_clip_init);
  r.read("rounding_lr", c.rounding_lr);
  r.read_choice("rounding", c.rounding, {"lora", "full", "nearest"});
  r.read("rank", c.rank);
  r.read_choice("rounding_forward", c.rounding_forward, {"soft", "ste"});
  r.read("rounding_weight", c.rounding_weight);
  r.read("warmup", c.warmup);
  r.read("beta_start", c.beta_start);
  r.read("beta_end", c.beta_end);
  r.read("kl_weight", c.kl_weight);
  r.read("homologous_weight", c.homologous_weight);
  r.read("cfp", c.cfp);
  r.read_choice("cfp_quantiles", c.cfp_quantiles, {"paper", "huawei"});
  r.read("cfp_weights", c.cfp_weights);
  r.read("batch_size", c.batch_size);
  r.read_choice("nan_policy", c.nan_policy, {"stop", "skip-block"});
  r.finish();
  if (c.window < 1 || c.overlap < 0 || c.overlap >= c.window)
    throw InputError(fmt::format("{}: window {} overlap {} (expected window >= 1, 0 <= overlap < window)", where, c.window, c.overlap));
  if (c.epochs < -1) throw InputError(fmt::format("{}: epochs {} (expected >= 0, or -1 = auto)", where, c.epochs));
  if (c.rank < 1 && c.rounding == "lora") throw InputError(fmt::format("{}: rank {} (expected >= 1)", where, c.rank));
  if (!(c.warmup >= 0 && c.warmup < 1)) throw InputError(fmt::format("{}: warmup {} (expected 0 <= warmup < 1)", where, c.warmup));
  if (c.batch_size < 1) throw InputError(fmt::format("{}: batch_size must be >= 1", where));
  return c;
}

namespace {

class Cbq final : public quant::Method {
 public:
  std::string name() const override { return "cbq"; }
  std::string description() const override {
    return "cross-block reconstruction (sliding window, homologous MSE+KL loss) with CFP and LoRA-Rounding";
  }
  nlohmann::json default_config() const override { return CbqConfig{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override { return CbqConfig::from_json(overrides).to_json(); }
  bool needs_calibration(const nlohmann::json&) const override { return true; }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const CbqConfig c = CbqConfig::from_json(config);
    setting.validate_for(model.config());
    if (ctx.calibration == nullptr || !ctx.calibration->defined())
      throw InputError("cbq needs calibration windows (experiment spec \"calibration\", quantize --calib)");
    model.act_quant = {setting.act_spec(), setting.kv_spec()};
    quant::MethodReport report;
    if (!setting.weight_spec().enabled()) throw InputError("cbq: 16-bit weights leave nothing to reconstruct (use rtn)");
    cbq::CrossBlockOptions o;
    o.window = c.window;
    o.overlap = c.overlap;
    o.train.epochs = c.epochs >= 0 ? c.epochs : (setting.wbits == 2 ? 40 : 20);
    o.train.batch_size = c.batch_size;
    o.train.precision = recon::precision_policy(setting, model.device(), model.dtype());
    o.train.nan_policy = c.nan_policy;
    o.train.progress = ctx.progress;
    if (!ctx.work_dir.empty() && o.train.epochs > 0) {
      o.train.checkpoint_dir = ctx.work_dir + "/cbq";
      o.train.checkpoint_key = recon::checkpoint_key(setting.str(), config, *ctx.calibration);
    }
    o.rounding_weight = c.rounding_weight;
    o.warmup = c.warmup;
    o.beta_start = c.beta_start;
    o.beta_end = c.beta_end;
    o.kl_weight = c.kl_weight;
    o.homologous_weight = c.homologous_weight;
    o.cfp = c.cfp;
    o.cfp_weights = c.cfp && c.cfp_weights;
    if (c.cfp_quantiles == "huawei") {
      o.cfp_options.q_low = 0.20;
      o.cfp_options.q_high = 0.80;
    }
    o.parts.weight_spec = setting.weight_spec();
    o.parts.rounding = c.rounding;
    o.parts.rank = c.rank;
    o.parts.rounding_forward = c.rounding_forward;
    o.parts.act_steps = c.act_steps && setting.act_spec().enabled();
    o.parts.act_clip_init = c.act_clip_init;
    o.parts.step_lr = c.step_lr;
    o.parts.rounding_lr = c.rounding_lr;
    const nlohmann::json log = cbq::cross_block_reconstruct(model, *ctx.calibration, o, report.qparams);
    model.sync_bias_layout();  // declares the learned activation clipping so the saved checkpoint loads back
    report.summary = {{"epochs", o.train.epochs},
                      {"precision", o.train.precision.describe()},
                      {"window", c.window},
                      {"overlap", c.overlap},
                      {"rounding", c.rounding},
                      {"cfp", c.cfp},
                      {"activation_steps", o.parts.act_steps ? "learned clipping of per-token min/max (S^X)" : "per-token min/max"},
                      {"calibration_windows", ctx.calibration->size(0)},
                      {"cross_block", log}};
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_cbq() { return std::make_unique<Cbq>(); }

}  // namespace ptq::methods
