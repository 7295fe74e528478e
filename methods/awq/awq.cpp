#include "methods/awq/awq.h"

#include "harness/model/llama_model.h"
#include "harness/recon/block_recon.h"
#include "harness/util/errors.h"
#include "methods/awq/awq_block.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

namespace ptq::methods {

const std::vector<std::pair<std::string, AwqInputs>>& awq_inputs_names() {
  static const std::vector<std::pair<std::string, AwqInputs>> names = {{"fp", AwqInputs::kFp},
                                                                       {"quantized", AwqInputs::kQuantized}};
  return names;
}

const quant::ConfigSchema<AwqConfig>& AwqConfig::schema() {
  using C = AwqConfig;
  static const auto schema =
      quant::ConfigSchema<C>("awq")
          .field("n_grid", &C::n_grid, "20: llm-awq auto_scale.py (_search_module_scale n_grid)")
          .field("auto_scale", &C::auto_scale, "true: llm-awq pre_quant.py (run_awq auto_scale)")
          .field("auto_clip", &C::auto_clip, "true: llm-awq pre_quant.py (run_awq mse_range)")
          .field("max_shrink", &C::max_shrink, "0.5: llm-awq auto_clip.py (auto_clip_layer max_shrink)")
          .field("clip_grid", &C::clip_grid, "20: llm-awq auto_clip.py (auto_clip_layer n_grid)")
          .field("n_sample_token", &C::n_sample_token,
                 "512: llm-awq auto_clip.py (auto_clip_layer; step max(1, N / 512), the reference's slice fails below 512 tokens)")
          .choice("inputs", &C::inputs, "fp: llm-awq pre_quant.py (run_awq propagates the FP blocks' outputs)",
                  awq_inputs_names());
  return schema;
}

nlohmann::json AwqConfig::to_json() const { return schema().to_json(*this); }

AwqConfig AwqConfig::from_json(const nlohmann::json& j) {
  AwqConfig c = schema().from_json(j);
  const std::string& where = schema().context();
  if (c.n_grid < 1) throw InputError(fmt::format("{}: \"n_grid\" is {}, expected an integer >= 1", where, c.n_grid));
  if (c.clip_grid < 1) throw InputError(fmt::format("{}: \"clip_grid\" is {}, expected an integer >= 1", where, c.clip_grid));
  if (!(c.max_shrink >= 0 && c.max_shrink < 1))
    throw InputError(fmt::format("{}: \"max_shrink\" is {}, expected 0 <= max_shrink < 1", where, c.max_shrink));
  if (c.n_sample_token < 1)
    throw InputError(fmt::format("{}: \"n_sample_token\" is {}, expected an integer >= 1", where, c.n_sample_token));
  return c;
}

namespace {

nlohmann::json ratio_json(double r) { return r < 0 ? nlohmann::json(nullptr) : nlohmann::json(r); }

class AwqParts final : public recon::ClosedFormParts {
 public:
  AwqParts(const recon::BlockInputs& in, const AwqConfig& cfg, const quant::QuantizerSpec& spec, nlohmann::json& log) {
    const at::Tensor& x = cfg.inputs == AwqInputs::kFp ? in.x_fp : in.x_q;
    if (!x.defined() || x.size(0) == 0) throw InputError("awq needs calibration windows");
    at::NoGradGuard no_grad;
    awq::BlockOptions o;
    o.n_grid = cfg.n_grid;
    o.auto_scale = cfg.auto_scale;
    o.auto_clip = cfg.auto_clip;
    o.max_shrink = cfg.max_shrink;
    o.clip_grid = cfg.clip_grid;
    o.n_sample_token = cfg.n_sample_token;
    const awq::BlockResult r =
        awq::awq_block(in.block, in.config, x, in.rope, in.batch_size, spec, o, fmt::format("block {}", in.index));
    block_ = r.block;
    const auto ls = block_.linears();
    for (size_t k = 0; k < ls.size(); ++k) {
      quant::QParams qp;
      ls[k]->weight = quant::fake_quant_weight(ls[k]->weight, spec, {}, {}, &qp);
      qparams_.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".weight_scale", qp.scale);
      qparams_.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".weight_zero", qp.zero);
    }
    log = {{"block", in.index},
           {"scale_ratios",
            {{"qkv", ratio_json(r.ratio_qkv)},
             {"v_o", ratio_json(r.ratio_v_o)},
             {"gate_up", ratio_json(r.ratio_gate_up)},
             {"down", ratio_json(r.ratio_down)}}},
           {"clip_ratio_mean", cfg.auto_clip ? nlohmann::json(r.clip_ratio_mean) : nlohmann::json(nullptr)}};
  }
};

class Awq final : public quant::MethodWithConfig<AwqConfig> {
 public:
  std::string name() const override { return "awq"; }
  std::string paper_name() const override { return "AWQ"; }
  std::string description() const override {
    return "activation-aware weight quantization: searched per-channel scales and clipping, weight-only (llm-awq)";
  }
  bool needs_calibration(const nlohmann::json&) const override { return true; }
  std::string model_support() const override {
    return "llama, mistral, qwen2, qwen3: the seven linear weights; scales fold into the norms (and norm biases), "
           "v_proj rows and biases (v_proj -> o_proj on multi-head attention only, as llm-awq) and up_proj rows and "
           "biases; other biases and qwen3's q/k norms stay full precision";
  }
  void check_model(const LlamaConfig&, const quant::QuantSetting& setting, const nlohmann::json& config) const override {
    AwqConfig::from_json(config);
    if (setting.abits < 16 || setting.kv_bits < 16)
      throw InputError(fmt::format("awq quantizes weights only (AWQ is weight-only): setting {} quantizes activations; "
                                   "expected W<bits>A16[g<group>], e.g. W4A16g128",
                                   setting.str()));
    if (!setting.weight_spec().enabled())
      throw InputError(fmt::format("awq: setting {} leaves the weights at 16 bits, nothing to quantize; expected "
                                   "W<bits>A16[g<group>] with bits < 16",
                                   setting.str()));
  }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const AwqConfig cfg = AwqConfig::from_json(config);
    setting.validate_for(model.config());
    check_model(model.config(), setting, config);
    const recon::ReconOptions o = recon::closed_form_options("awq", model, setting, ctx);
    quant::apply_activation_quant(model, setting);  // weight-only: none, but the engine's contract
    const quant::QuantizerSpec spec = setting.weight_spec();
    std::vector<nlohmann::json> blocks(model.num_blocks());
    const recon::ReconReport r = recon::reconstruct(
        model, *ctx.calibration,
        [&](const recon::BlockInputs& in) { return std::make_unique<AwqParts>(in, cfg, spec, blocks.at(in.index)); }, o);
    quant::MethodReport report;
    report.qparams = r.qparams;
    report.summary = {{"blocks", blocks},
                      {"inputs", quant::name_in(awq_inputs_names(), cfg.inputs)},
                      {"auto_scale", cfg.auto_scale},
                      {"auto_clip", cfg.auto_clip},
                      {"n_grid", cfg.n_grid},
                      {"clip_grid", cfg.clip_grid},
                      {"max_shrink", cfg.max_shrink},
                      {"n_sample_token", cfg.n_sample_token}};
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_awq() { return std::make_unique<Awq>(); }

}  // namespace ptq::methods
