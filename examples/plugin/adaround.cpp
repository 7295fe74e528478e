// adaround: learned rounding with the reconstruction engine. AdaRound (Nagel et al., 2020) learns, per
// weight, whether to round up or down: W_soft = s * (clamp(floor(W/s) + h(V) + z, 0, 2^b - 1) - z) with
// the rectified sigmoid h(V) = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1), zeta = 1.1, gamma = -0.1,
// V initialised so that h(V) = frac(W/s) (W_soft = W at the start), trained block by block on the block
// output's MSE plus lambda * sum(1 - |2h(V) - 1|^beta), beta annealed 20 -> 2 after a warm-up of 20% of
// the steps without it (the paper's §4-5 and its appendix). s, z: the grid of least weight error per row
// or group (rtn_mse's search; the paper initialises the grid by the quantized weights' MSE), or plain
// min/max with "range": "minmax".
// After training each weight rounds up where h(V) >= 0.5 (V >= 0). A plugin method built on
// ptqbench's engine (harness/recon/block_recon.h): the engine propagates the calibration windows,
// trains, checkpoints and folds; this file supplies the parts.
#include "example_methods.h"

#include "harness/model/llama_model.h"
#include "harness/ptq/config_schema.h"
#include "harness/quant/uniform_quantizer.h"
#include "harness/recon/block_recon.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace example {

enum class Range { kMse, kMinMax };

struct AdaRoundConfig {
  Range range = Range::kMse;  // source: AdaRound §5 (grid from the weights' quantization MSE)
  int64_t epochs = 10;        // ours: 160 steps per block on the example's 16 windows (the paper: 20k iterations)
  double lr = 1e-3;           // source: AdaRound §5 (Adam, default learning rate)
  double lambda = 0.01;       // source: AdaRound §5, the regulariser's weight
  double warmup = 0.2;        // source: AdaRound appendix: no regulariser for the first 20% of the steps
  double beta_start = 20.0;   // source: AdaRound §4, beta annealed from 20 ...
  double beta_end = 2.0;      // ... to 2

  static const ptq::quant::ConfigSchema<AdaRoundConfig>& schema() {
    static const auto s = ptq::quant::ConfigSchema<AdaRoundConfig>("adaround")
                              .choice("range", &AdaRoundConfig::range, "AdaRound §5: the grid of least weight MSE",
                                      {{"mse", Range::kMse}, {"minmax", Range::kMinMax}})
                              .field("epochs", &AdaRoundConfig::epochs, "example default: 10 passes over the windows")
                              .field("lr", &AdaRoundConfig::lr, "AdaRound §5: Adam, lr 1e-3")
                              .field("lambda", &AdaRoundConfig::lambda, "AdaRound §5: 0.01")
                              .field("warmup", &AdaRoundConfig::warmup, "AdaRound appendix: 20% without regulariser")
                              .field("beta_start", &AdaRoundConfig::beta_start, "AdaRound §4: 20")
                              .field("beta_end", &AdaRoundConfig::beta_end, "AdaRound §4: 2");
    return s;
  }
  nlohmann::json to_json() const { return schema().to_json(*this); }
  static AdaRoundConfig from_json(const nlohmann::json& j) {
    const AdaRoundConfig c = schema().from_json(j);
    const std::string where = "config of method 'adaround': ";
    if (c.epochs < 0 || c.epochs > 10000) throw ptq::InputError(where + "epochs must lie in 0..10000");
    if (!(c.lr > 0 && c.lr < 1)) throw ptq::InputError(where + "lr must lie in (0, 1)");
    if (!(c.lambda >= 0 && c.lambda < 1e3)) throw ptq::InputError(where + "lambda must lie in [0, 1000)");
    if (!(c.warmup >= 0 && c.warmup < 1)) throw ptq::InputError(where + "warmup must lie in [0, 1)");
    if (!(c.beta_start >= c.beta_end && c.beta_end > 0 && c.beta_start <= 1000))
      throw ptq::InputError(where + "beta must anneal downwards: 0 < beta_end <= beta_start <= 1000");
    return c;
  }
};

constexpr double kZeta = 1.1, kGamma = -0.1;

// One linear's rounding: its grid (rows of the weight by group) and the learned V.
struct LinearRounding {
  at::Tensor floor, scale, zero, v;  // [R, G], [R, 1], [R, 1], [R, G]
  int64_t out = 0, in = 0, qmax = 0;

  at::Tensor h() const { return (at::sigmoid(v) * (kZeta - kGamma) + kGamma).clamp(0, 1); }
  at::Tensor weight(const at::Tensor& rounding) const {
    return ((floor + rounding + zero).clamp(0, static_cast<double>(qmax)) - zero).mul(scale).reshape({out, in});
  }
};

class AdaRoundParts final : public ptq::recon::BlockParts {
 public:
  AdaRoundParts(const ptq::DecoderBlock& fp, const ptq::quant::QuantizerSpec& spec, const AdaRoundConfig& cfg) : cfg_(cfg) {
    at::NoGradGuard no_grad;
    ptq::DecoderBlock block = fp;
    const auto ls = block.linears();
    for (size_t k = 0; k < ls.size(); ++k) {
      const at::Tensor& w = ls[k]->weight;
      LinearRounding r;
      r.out = w.size(0);
      r.in = w.size(1);
      r.qmax = spec.qmax();
      const int64_t group = spec.group_size > 0 ? spec.group_size : r.in;
      const at::Tensor rows = w.reshape({r.out * r.in / group, group});
      ptq::quant::QParams qp;
      if (cfg.range == Range::kMse)
        mse_range_search(rows, spec, {}, qp);
      else
        qp = ptq::quant::compute_qparams(rows, spec);
      r.scale = qp.scale;
      r.zero = qp.zero;
      const at::Tensor x = rows / qp.scale;
      r.floor = at::floor(x);
      // h(V) = frac(W/s): sigmoid(V) = (frac - gamma) / (zeta - gamma).
      const at::Tensor p = ((x - r.floor) - kGamma) / (kZeta - kGamma);  // in [1/12, 11/12]: finite logits
      r.v = at::log(p / (1 - p)).detach().requires_grad_(true);
      roundings_.push_back(std::move(r));
    }
  }

  std::vector<ptq::train::ParamGroup> param_groups() override {
    ptq::train::ParamGroup g;
    for (const auto& r : roundings_) g.params.push_back(r.v);
    g.lr = cfg_.lr;
    return {g};
  }
  ptq::DecoderBlock temporary_block(const ptq::DecoderBlock& fp) const override {
    ptq::DecoderBlock b = fp;
    const auto ls = b.linears();
    for (size_t k = 0; k < ls.size(); ++k) ls[k]->weight = roundings_[k].weight(roundings_[k].h());
    return b;
  }
  at::Tensor regularizer(double progress) const override {
    if (progress < cfg_.warmup) return {};
    const double t = (progress - cfg_.warmup) / (1 - cfg_.warmup);
    const double beta = cfg_.beta_end + (cfg_.beta_start - cfg_.beta_end) * (1 - t);
    at::Tensor sum;
    for (const auto& r : roundings_) {
      const at::Tensor term = (1 - (2 * r.h() - 1).abs().pow(beta)).sum();
      sum = sum.defined() ? sum + term : term;
    }
    return sum;
  }
  void fold(ptq::DecoderBlock& block, const std::string& prefix, ptq::recon::Named& qparams) override {
    at::NoGradGuard no_grad;
    const auto ls = block.linears();
    for (size_t k = 0; k < ls.size(); ++k) {
      const LinearRounding& r = roundings_[k];
      ls[k]->weight = r.weight((r.v >= 0).to(r.v.scalar_type())).detach();
      const std::string name = prefix + ptq::DecoderBlock::kLinearNames[k];
      qparams.emplace_back(name + ".weight_scale", r.scale.reshape({r.out, -1}));
      qparams.emplace_back(name + ".weight_zero", r.zero.reshape({r.out, -1}));
    }
  }
  ptq::recon::Named state() const override {
    ptq::recon::Named out;
    for (size_t k = 0; k < roundings_.size(); ++k)
      out.emplace_back(std::string(ptq::DecoderBlock::kLinearNames[k]) + ".v", roundings_[k].v.detach());
    return out;
  }
  void load_state(const std::map<std::string, at::Tensor>& state) override {
    at::NoGradGuard no_grad;
    for (size_t k = 0; k < roundings_.size(); ++k)
      roundings_[k].v.copy_(state.at(std::string(ptq::DecoderBlock::kLinearNames[k]) + ".v"));
  }

 private:
  AdaRoundConfig cfg_;
  std::vector<LinearRounding> roundings_;
};

class AdaRound final : public ptq::quant::MethodWithConfig<AdaRoundConfig> {
 public:
  std::string name() const override { return "adaround"; }
  std::string paper_name() const override { return "AdaRound"; }
  std::string description() const override {
    return "example plugin: AdaRound's learned rounding, block by block with ptqbench's reconstruction engine";
  }
  bool needs_calibration(const nlohmann::json&) const override { return true; }
  std::string model_support() const override { return "llama, mistral, qwen2, qwen3: the seven linear weights"; }
  void check_model(const ptq::LlamaConfig&, const ptq::quant::QuantSetting& setting, const nlohmann::json&) const override {
    if (!setting.weight_spec().enabled()) throw ptq::InputError("adaround: 16-bit weights leave nothing to round");
  }

  ptq::quant::MethodReport apply(ptq::LlamaModel& model, const ptq::quant::QuantSetting& setting, const nlohmann::json& config,
                                 ptq::quant::MethodContext& ctx) const override {
    const AdaRoundConfig cfg = AdaRoundConfig::from_json(config);
    setting.validate_for(model.config());
    if (ctx.calibration == nullptr || !ctx.calibration->defined()) throw ptq::InputError("adaround needs calibration windows");
    ptq::quant::apply_activation_quant(model, setting);
    ptq::recon::ReconOptions o;
    o.epochs = static_cast<int>(cfg.epochs);
    o.regularizer_weight = cfg.lambda;
    o.progress = ctx.progress;
    o.activations = ctx.activations;
    if (!ctx.work_dir.empty()) {  // resumable: each trained block's V is kept until the cell is done
      o.checkpoint_dir = ctx.work_dir + "/adaround";
      o.checkpoint_key = ptq::recon::checkpoint_key(setting.str(), config, *ctx.calibration);
    }
    const ptq::quant::QuantizerSpec spec = setting.weight_spec();
    const ptq::recon::ReconReport r = ptq::recon::reconstruct(
        model, *ctx.calibration,
        [&](const ptq::recon::BlockInputs& in) { return std::make_unique<AdaRoundParts>(in.block, spec, cfg); }, o);
    ptq::quant::MethodReport report;
    report.qparams = r.qparams;
    report.summary = r.to_json();
    return report;
  }
};

std::unique_ptr<ptq::quant::Method> make_adaround() { return std::make_unique<AdaRound>(); }

}  // namespace example
