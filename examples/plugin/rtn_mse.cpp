// rtn_mse: round-to-nearest whose clipping range is searched per row (or group) to minimise the
// rounding error, as GPTQ's quantizer does with mse=True (IST-DASLab/gptq quant.py, Quantizer.find_params:
// shrink factors p = 1 - i/grid for i < maxshrink * grid, error sum |Q(w) - w|^norm, the best p per row).
// Calibration-free.
#include "example_methods.h"

#include "harness/model/block_reader.h"
#include "harness/model/llama_model.h"
#include "harness/ptq/config_schema.h"
#include "harness/quant/uniform_quantizer.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <string>

namespace {

using example::mse_range_search;

struct RtnMseConfig {
  int64_t grid = 100;        // source: gptq quant.py Quantizer.configure(grid=100)
  double max_shrink = 0.8;   // source: gptq quant.py Quantizer.configure(maxshrink=.8)
  double norm = 2.4;         // source: gptq quant.py Quantizer.configure(norm=2.4)

  static const ptq::quant::ConfigSchema<RtnMseConfig>& schema() {
    static const auto s = ptq::quant::ConfigSchema<RtnMseConfig>("rtn_mse")
                              .field("grid", &RtnMseConfig::grid, "gptq quant.py Quantizer.configure grid=100")
                              .field("max_shrink", &RtnMseConfig::max_shrink, "gptq quant.py maxshrink=.8")
                              .field("norm", &RtnMseConfig::norm, "gptq quant.py norm=2.4");
    return s;
  }
  nlohmann::json to_json() const { return schema().to_json(*this); }
  static RtnMseConfig from_json(const nlohmann::json& j) {
    RtnMseConfig c = schema().from_json(j);
    if (c.grid < 1 || c.grid > 10000) throw ptq::InputError("config of method 'rtn_mse': grid " + std::to_string(c.grid) + ", expected 1..10000");
    if (!(c.max_shrink > 0 && c.max_shrink < 1)) throw ptq::InputError("config of method 'rtn_mse': max_shrink must lie in (0, 1)");
    if (!(c.norm > 0 && c.norm <= 16)) throw ptq::InputError("config of method 'rtn_mse': norm must lie in (0, 16]");
    return c;
  }
};

class RtnMse final : public ptq::quant::MethodWithConfig<RtnMseConfig> {
 public:
  std::string name() const override { return "rtn_mse"; }
  std::string paper_name() const override { return "RTN-MSE"; }
  std::string description() const override {
    return "example plugin: RTN with GPTQ's MSE clipping search per row/group (quant.py mse=True); no calibration";
  }
  bool needs_calibration(const nlohmann::json&) const override { return false; }
  std::string model_support() const override { return "llama, mistral, qwen2, qwen3: the seven linear weights"; }
  void check_model(const ptq::LlamaConfig&, const ptq::quant::QuantSetting&, const nlohmann::json&) const override {}

  ptq::quant::MethodReport apply(ptq::LlamaModel& model, const ptq::quant::QuantSetting& setting, const nlohmann::json& config,
                                 ptq::quant::MethodContext&) const override {
    const RtnMseConfig cfg = RtnMseConfig::from_json(config);
    setting.validate_for(model.config());
    const ptq::quant::QuantizerSpec spec = setting.weight_spec();
    c10::InferenceMode guard;
    ptq::quant::MethodReport report;
    if (spec.enabled()) {
      ptq::BlockReader reader(model, 0, model.num_blocks());
      for (size_t i = 0; i < model.num_blocks(); ++i) {
        ptq::DecoderBlock block = reader.next();  // streamed models: one block in memory at a time
        for (auto& [suffix, weight] : block.named_tensors()) {
          if (suffix.find("_proj.weight") == std::string::npos) continue;
          const int64_t out = weight->size(0), in = weight->size(1);
          const int64_t group = spec.group_size > 0 ? spec.group_size : in;
          ptq::quant::QParams qp;
          *weight = mse_range_search(weight->reshape({out * in / group, group}), spec, {cfg.grid, cfg.max_shrink, cfg.norm}, qp)
                        .reshape({out, in});
          const std::string linear = "model.layers." + std::to_string(i) + "." + suffix;
          report.qparams.emplace_back(linear + "_scale", qp.scale.reshape({out, in / group}));
          report.qparams.emplace_back(linear + "_zero", qp.zero.reshape({out, in / group}));
        }
        model.set_block(i, std::move(block));
      }
    }
    ptq::quant::apply_activation_quant(model, setting);
    report.summary = {{"shrink_candidates", static_cast<int64_t>(cfg.max_shrink * static_cast<double>(cfg.grid))}};
    return report;
  }
};

}  // namespace

namespace example {

// The fake-quantized weight with, per row of `rows` ([R, G]), the shrink factor of least error. The
// shrink is ptqbench's learnable-clipping bound (xmax * sigmoid(up), xmin * sigmoid(low)) set to
// sigmoid^-1(p), so scales and zero points follow the same quantizer as every other method.
at::Tensor mse_range_search(const at::Tensor& rows, const ptq::quant::QuantizerSpec& spec, const MseSearch& cfg,
                            ptq::quant::QParams& best_qp) {
  const auto n = rows.size(0);
  at::Tensor best_err = at::full({n}, INFINITY, rows.options());
  at::Tensor best_q = rows.clone();
  best_qp = {at::zeros({n, 1}, rows.options()), at::zeros({n, 1}, rows.options())};
  const int64_t steps = static_cast<int64_t>(cfg.max_shrink * static_cast<double>(cfg.grid));
  for (int64_t i = 0; i < steps; ++i) {
    const double p = 1.0 - static_cast<double>(i) / static_cast<double>(cfg.grid);
    const double logit = p >= 1.0 ? 30.0 : std::log(p / (1.0 - p));  // sigmoid(30) is 1 in float
    const at::Tensor bound = at::full({n, 1}, logit, rows.options());
    const ptq::quant::QParams qp = ptq::quant::compute_qparams(rows, spec, bound, bound);
    const at::Tensor q = ptq::quant::fake_quant_rows(rows, qp, spec);
    const at::Tensor err = (q - rows).abs().pow(cfg.norm).sum(1);
    const at::Tensor better = err < best_err;
    best_err = at::where(better, err, best_err);
    best_q = at::where(better.unsqueeze(1), q, best_q);
    best_qp.scale = at::where(better.unsqueeze(1), qp.scale, best_qp.scale);
    best_qp.zero = at::where(better.unsqueeze(1), qp.zero, best_qp.zero);
  }
  return best_q;
}

std::unique_ptr<ptq::quant::Method> make_rtn_mse() { return std::make_unique<RtnMse>(); }

}  // namespace example
