#include "rtn/rtn.h"

#include "model/block_reader.h"
#include "model/llama_model.h"
#include "util/errors.h"
#include "util/strict_json.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

namespace ptq::methods {

nlohmann::json RtnConfig::to_json() const { return {{"range", range}}; }

RtnConfig RtnConfig::from_json(const nlohmann::json& j) {
  RtnConfig c;
  StrictJsonReader r(j, "config of method 'rtn'");
  r.read_choice("range", c.range, {"minmax", "gptq_nearest"});
  r.finish();
  return c;
}

namespace {

class Rtn final : public quant::Method {
 public:
  std::string name() const override { return "rtn"; }
  std::string description() const override {
    return "round-to-nearest weights (min/max per channel or group), dynamic per-token activations; no calibration";
  }
  nlohmann::json default_config() const override { return RtnConfig{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    return RtnConfig::from_json(overrides).to_json();
  }
  bool needs_calibration(const nlohmann::json&) const override { return false; }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext&) const override {
    const RtnConfig cfg = RtnConfig::from_json(config);
    setting.validate_for(model.config());
    quant::QuantizerSpec wspec = setting.weight_spec();
    if (cfg.range == "gptq_nearest") {
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
      BlockReader reader(model, 0, model.blocks.size());
      for (size_t i = 0; i < model.blocks.size(); ++i) {
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
    model.act_quant = {setting.act_spec(), setting.kv_spec()};
    report.summary = {{"quantized_linears", quantized}};
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_rtn() { return std::make_unique<Rtn>(); }

}  // namespace ptq::methods
