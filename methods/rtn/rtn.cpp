#include "methods/rtn/rtn.h"

#include "harness/model/block_reader.h"
#include "harness/model/llama_model.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

namespace ptq::methods {

const quant::ConfigSchema<RtnConfig>& RtnConfig::schema() {
  static const auto schema = quant::ConfigSchema<RtnConfig>("rtn").choice(
      "range", &RtnConfig::range, "minmax: OmniQuant quantize/quantizer.py (the RTN rows of its tables)",
      {{"minmax", quant::RangeRule::kMinMax}, {"gptq_nearest", quant::RangeRule::kGptqNearest}});
  return schema;
}

nlohmann::json RtnConfig::to_json() const { return schema().to_json(*this); }

RtnConfig RtnConfig::from_json(const nlohmann::json& j) { return schema().from_json(j); }

namespace {

class Rtn final : public quant::MethodWithConfig<RtnConfig> {
 public:
  std::string name() const override { return "rtn"; }
  std::string paper_name() const override { return "RTN"; }
  std::string description() const override {
    return "round-to-nearest weights (min/max per channel or group), dynamic per-token activations; no calibration";
  }
  bool needs_calibration(const nlohmann::json&) const override { return false; }
  std::string model_support() const override {
    return "llama, mistral, qwen2, qwen3: the seven linear weights are rounded; biases and norms (qwen3's q/k norms "
           "too) stay full precision";
  }
  void check_model(const LlamaConfig&, const quant::QuantSetting&, const nlohmann::json&) const override {}

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext&) const override {
    const RtnConfig cfg = RtnConfig::from_json(config);
    setting.validate_for(model.config());
    quant::QuantizerSpec wspec = setting.weight_spec();
    if (cfg.range == quant::RangeRule::kGptqNearest) {
      if (setting.group_size > 0 || setting.weight_symmetric)
        throw InputError(fmt::format("rtn range gptq_nearest quantizes asymmetrically per output channel (GPTQ "
                                     "--nearest ignores groups and symmetry); setting {} asks for more",
                                     setting.str()));
      wspec.range = quant::RangeRule::kGptqNearest;
    }
    c10::InferenceMode guard;
    quant::MethodReport report;
    int64_t quantized = 0;
    if (wspec.enabled()) {
      BlockReader reader(model, 0, model.num_blocks());
      for (size_t i = 0; i < model.num_blocks(); ++i) {
        DecoderBlock block = reader.next();  // a streamed model's blocks are read and stored one at a time
        for (auto& [suffix, tensor] : block.named_tensors()) {
          // Only the seven linear weights; norms and biases stay full precision.
          if (suffix.find("_proj.weight") == std::string::npos) continue;
          quant::QParams qp;
          *tensor = quant::fake_quant_weight(*tensor, wspec, {}, {}, &qp);
          const std::string name = fmt::format("model.layers.{}.{}", i, suffix);
          report.qparams.emplace_back(name + "_scale", qp.scale);
          report.qparams.emplace_back(name + "_zero", qp.zero);
          ++quantized;
        }
        model.set_block(i, std::move(block));
      }
    }
    quant::apply_activation_quant(model, setting);
    report.summary = {{"quantized_linears", quantized}};
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_rtn() { return std::make_unique<Rtn>(); }

}  // namespace ptq::methods
