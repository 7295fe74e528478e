// AWQ: activation-aware weight quantization (Lin et al., MLSys 2024; released code mit-han-lab/llm-awq,
// awq/quantize/{pre_quant,auto_scale,auto_clip,quantizer}.py). Weight-only. Block by block on the
// reconstruction engine with epochs 0 (closed form, no optimiser): per block, on its FP-path inputs as
// the reference (run_awq computes a block's output for the next block before scaling or clipping it):
// the scale search of four groups (input_layernorm -> q/k/v, v_proj -> o_proj on multi-head attention
// only, post_attention_layernorm -> gate/up, up_proj -> down_proj), the equivalence transform, the clip
// search of every linear but q/k_proj, then the setting's weight quantizer on all seven linears.
// The steps, and the searches as pure functions, are in awq_block.h and awq_search.h.
//
// Quantizer: ptqbench's shared min/max quantizer (harness/quant/uniform_quantizer.h, OmniQuant's
// semantics) in the searches and for the final weights, so AWQ's rows are quantized exactly as the RTN
// and OmniQuant rows. llm-awq's pseudo_quantize_tensor (zero_point=True) differs in two clamps only:
// its scale has no upper bound (ours: [1e-5, 1e4]) and its zero point -round(min / scale) is clamped to
// [0, 2^N - 1] (ours: round(-min / scale) within +-1e4). For a group holding both signs - every group of
// a real weight - min < 0 < max keeps the zero point inside [0, 2^N - 1] and the two are identical.
#pragma once

#include "harness/ptq/config_schema.h"
#include "harness/ptq/method.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ptq::methods {

// Which inputs a block's statistics and searches see.
enum class AwqInputs { kFp, kQuantized };
const std::vector<std::pair<std::string, AwqInputs>>& awq_inputs_names();

struct AwqConfig {
  int n_grid = 20;                // scale ratios i / n_grid, i < n_grid (auto_scale.py _search_module_scale)
  bool auto_scale = true;         // run_awq(auto_scale=True)
  bool auto_clip = true;          // run_awq(mse_range=True)
  double max_shrink = 0.5;        // auto_clip_layer(max_shrink=0.5)
  int clip_grid = 20;             // auto_clip_layer(n_grid=20)
  int64_t n_sample_token = 512;   // auto_clip_layer(n_sample_token=512); step max(1, N / 512)
  // "fp": a block's inputs are the FP model's (run_awq: each block's output is computed before it is
  // scaled, clipped or quantized); "quantized": the quantized path's (the previous blocks quantized).
  AwqInputs inputs = AwqInputs::kFp;

  static const quant::ConfigSchema<AwqConfig>& schema();  // the fields' keys, sources, allowed values
  nlohmann::json to_json() const;
  static AwqConfig from_json(const nlohmann::json& j);  // strict (schema) + range checks
};

std::unique_ptr<quant::Method> make_awq();

}  // namespace ptq::methods
