#include "methods/cbq/cbq.h"

#include "harness/model/llama_model.h"
#include "harness/util/errors.h"
#include "methods/cbq/cross_block.h"
#include "methods/omniquant/omni_pipeline.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

const quant::ConfigSchema<CbqConfig>& CbqConfig::schema() {
  using C = CbqConfig;
  static const auto schema =
      quant::ConfigSchema<C>("cbq")
          .field("window", &C::window, "[S] Korean summary of v5; SliderQuant's re-implementation")
          .field("overlap", &C::overlap, "[S]")
          .field("epochs", &C::epochs, "-1: 20, 40 for 2-bit weights [A: OmniQuant's schedule]")
          .field("step_lr", &C::step_lr, "[A] OmniQuant's lwc_lr")
          .field("act_steps", &C::act_steps, "[A] the dossier: learned per-token clipping")
          .field("act_clip_init", &C::act_clip_init, "[A] OmniQuant's LWC init")
          .field("rounding_lr", &C::rounding_lr, "[A] AdaRound practice")
          .choice("rounding", &C::rounding, "lora: the paper",
                  {{"lora", cbq::Rounding::kLora}, {"full", cbq::Rounding::kFull}, {"nearest", cbq::Rounding::kNearest}})
          .field("rank", &C::rank, "[A] not in any readable source")
          .choice("rounding_forward", &C::rounding_forward, "[A] ste: measured (soft, AdaRound's, stays behind LWC-only at W2A16)",
                  {{"soft", cbq::RoundingForward::kSoft}, {"ste", cbq::RoundingForward::kSte}})
          .field("rounding_weight", &C::rounding_weight, "[C] AdaRound/BRECQ weight")
          .choice("rounding_regularizer", &C::rounding_regularizer, "adaround: lambda * sum [C: AdaRound/BRECQ code]",
                  {{"adaround", cbq::RegularizerScale::kAdaRound}, {"mean", cbq::RegularizerScale::kMean}})
          .field("warmup", &C::warmup, "[A] AdaRound")
          .field("beta_start", &C::beta_start, "[A] AdaRound")
          .field("beta_end", &C::beta_end, "[A] AdaRound")
          .field("kl_weight", &C::kl_weight, "[A] 1:1")
          .choice("distance", &C::distance, "paper: ||.||^2 + KL per token",
                  {{"paper", cbq::Distance::kPaper}, {"mse-mean", cbq::Distance::kMseMean}})
          .field("homologous_weight", &C::homologous_weight, "[A] 1:1")
          .field("cfp", &C::cfp, "the paper")
          .choice("cfp_quantiles", &C::cfp_quantiles, "paper: 0.25/0.75 (huawei: msModelSlim)",
                  {{"paper", C::CfpQuantiles::kPaper}, {"huawei", C::CfpQuantiles::kHuawei}})
          .field("cfp_weights", &C::cfp_weights, "[A] per output row")
          .choice("cfp_activations", &C::cfp_activations, "auto: only with quantized activations [A]", quant::switch_names())
          .field("batch_size", &C::batch_size, "1, fixed order [A: OmniQuant]")
          .choice("nan_policy", &C::nan_policy, "stop (ours: skip-block)", recon::nan_policy_names())
          .field("seed", &C::seed, "ours: no source gives one (LoRA-Rounding's A2 init)");
  return schema;
}

nlohmann::json CbqConfig::to_json() const { return schema().to_json(*this); }

CbqConfig CbqConfig::from_json(const nlohmann::json& j) {
  const CbqConfig c = schema().from_json(j);
  const std::string& where = schema().context();
  if (c.window < 1 || c.overlap < 0 || c.overlap >= c.window)
    throw InputError(fmt::format("{}: window {} overlap {} (expected window >= 1, 0 <= overlap < window)", where, c.window, c.overlap));
  if (c.epochs < -1) throw InputError(fmt::format("{}: epochs {} (expected >= 0, or -1 = auto)", where, c.epochs));
  if (c.rank < 1 && c.rounding == cbq::Rounding::kLora) throw InputError(fmt::format("{}: rank {} (expected >= 1)", where, c.rank));
  if (!(c.warmup >= 0 && c.warmup < 1)) throw InputError(fmt::format("{}: warmup {} (expected 0 <= warmup < 1)", where, c.warmup));
  if (c.batch_size < 1) throw InputError(fmt::format("{}: batch_size must be >= 1", where));
  if (c.seed < 0) throw InputError(fmt::format("{}: seed {} (expected >= 0)", where, c.seed));
  return c;
}

namespace {

class Cbq final : public quant::MethodWithConfig<CbqConfig> {
 public:
  std::string name() const override { return "cbq"; }
  std::string paper_name() const override { return "CBQ"; }
  std::string description() const override {
    return "cross-block reconstruction (sliding window, homologous MSE+KL loss) with CFP and LoRA-Rounding";
  }
  bool needs_calibration(const nlohmann::json&) const override { return true; }
  std::string model_support() const override {
    return "llama, mistral, qwen2, qwen3: CFP's channel scalings (input norm -> q/k/v, post-attention norm -> gate/up, "
           "up -> down) are exact on each, biases carried; no q/k transform, so qwen3's q/k norms are untouched";
  }
  void check_model(const LlamaConfig&, const quant::QuantSetting&, const nlohmann::json&) const override {}

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const CbqConfig c = CbqConfig::from_json(config);
    setting.validate_for(model.config());
    if (ctx.calibration == nullptr || !ctx.calibration->defined())
      throw InputError("cbq needs calibration windows (experiment spec \"calibration\", quantize --calib)");
    quant::apply_activation_quant(model, setting);
    quant::MethodReport report;
    if (!setting.weight_spec().enabled()) throw InputError("cbq: 16-bit weights leave nothing to reconstruct (use rtn)");
    cbq::CrossBlockOptions o;
    o.window = c.window;
    o.overlap = c.overlap;
    o.train.epochs = omniquant_epochs(c.epochs, setting);
    o.train.batch_size = c.batch_size;
    o.train.precision = recon::precision_policy(setting, model.device(), model.dtype());
    o.train.nan_policy = c.nan_policy;
    o.train.progress = ctx.progress;
    o.train.activations = ctx.activations;
    o.train.loss_log = ctx.loss_log;
    o.train.profile_trace = ctx.profile_trace;
    if (!ctx.work_dir.empty() && o.train.epochs > 0) {
      o.train.checkpoint_dir = ctx.work_dir + "/cbq";
      o.train.checkpoint_key = recon::checkpoint_key(setting.str(), config, *ctx.calibration);
    }
    o.rounding_weight = c.rounding_weight;
    o.warmup = c.warmup;
    o.beta_start = c.beta_start;
    o.beta_end = c.beta_end;
    o.regularizer_scale = c.rounding_regularizer;
    o.kl_weight = c.kl_weight;
    o.distance = c.distance;
    o.homologous_weight = c.homologous_weight;
    o.cfp = c.cfp;
    o.cfp_steps.weights = c.cfp_weights;
    o.cfp_steps.activations = quant::is_on(c.cfp_activations, setting.act_spec().enabled());
    if (c.cfp_quantiles == CbqConfig::CfpQuantiles::kHuawei) {
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
    o.parts.seed = static_cast<uint64_t>(c.seed);
    const nlohmann::json log = cbq::cross_block_reconstruct(model, *ctx.calibration, o, report.qparams);
    model.sync_bias_layout();  // declares the learned activation clipping so the saved checkpoint loads back
    report.summary = {{"epochs", o.train.epochs},
                      {"precision", o.train.precision.describe()},
                      {"window", c.window},
                      {"overlap", c.overlap},
                      {"rounding", c.to_json().at("rounding")},
                      {"cfp", c.cfp ? nlohmann::json{{"weights", o.cfp_steps.weights}, {"activations", o.cfp_steps.activations}}
                                    : nlohmann::json(false)},
                      {"activation_steps", o.parts.act_steps ? "learned clipping of per-token min/max (S^X)" : "per-token min/max"},
                      {"calibration_windows", ctx.calibration->size(0)},
                      {"cross_block", log}};
    if (log.contains("rounding_near_binary"))  // soft offsets within 0.01 of 0 or 1 before hardening
      report.summary["rounding_near_binary"] = log.at("rounding_near_binary").at("all");
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_cbq() { return std::make_unique<Cbq>(); }

}  // namespace ptq::methods
