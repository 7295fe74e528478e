// GPTQ (Frantar, Ashkboos, Hoefler, Alistarh, ICLR 2023; released code IST-DASLab/gptq, llama.py +
// gptq.py + quant.py): block by block, each linear's weight is quantized column by column, the error of
// each column compensated on the columns not yet quantized through the inverse Hessian of the layer's
// inputs (methods/gptq/gptq_solver.h). Within a block the linears go in the true-sequential order -
// q/k/v, then o_proj on what the quantized q/k/v produce, then gate/up, then down_proj - each group's
// Hessian from its inputs on the quantized path (the previous blocks and groups already quantized,
// activation quantizers applied), one calibration window at a time as the reference's hooks see them.
// Runs on the reconstruction engine without an optimiser (epochs 0).
#pragma once

#include "harness/ptq/config_schema.h"
#include "harness/ptq/method.h"
#include "methods/gptq/gptq_solver.h"

#include <memory>

namespace ptq::methods {

struct GptqConfig {
  int64_t blocksize = 128;  // gptq.py fasterquant(blocksize=128): the lazy-batch width
  double percdamp = 0.01;   // llama.py --percdamp .01: damping = percdamp * mean(diag(H))
  // --act-order and --true-sequential are opt-in flags of llama.py, but the GPTQ README runs LLaMA with
  // both ("fix GPTQ's strangely bad performance on the 7B model (from 7.15 to 6.09 Wiki2 PPL)"), and the
  // GPTQ rows of OmniQuant's Table 1 (LLaMA-1-7B W4A16 6.13, W3A16 8.06) are the README's figures with
  // them (6.09, 8.07), not without (7.15): on by default here, switches to reproduce the paper's original.
  bool act_order = true;
  bool true_sequential = true;
  bool static_groups = false;  // llama.py --static-groups (off by default there)
  // "batch_start": a group's parameters from its columns as they stood when the lazy batch began (what
  // gptq.py computes when a group starts inside a batch, e.g. g64); "updated": from the fully updated
  // columns (the paper's Algorithm 1). Identical when the group size is a multiple of blocksize.
  GroupParams group_params = GroupParams::kBatchStart;
  // "gptq": quant.py's Quantizer (range stretched to contain 0, no scale clamp) - the reference's;
  // "minmax": ptqbench's min/max quantizer (OmniQuant's, the RTN rows), for a like-for-like grid.
  enum class Range { kGptq, kMinMax };
  Range range = Range::kGptq;

  static const quant::ConfigSchema<GptqConfig>& schema();
  nlohmann::json to_json() const;
  static GptqConfig from_json(const nlohmann::json& j);  // strict (schema) + range checks
};

std::unique_ptr<quant::Method> make_gptq();

}  // namespace ptq::methods
