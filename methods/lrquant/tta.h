// LRQuant's test-time adaptation (quantize/TTA.py; research/omniquant_lrquant.md §2.3): before a
// perplexity task is scored, a fresh quantized copy of the FP last block (LWC at init 4.0, LET scales 1
// and shifts 0) is trained for a few epochs on the task's own windows against the FP last block
// (MSE + NLC), then replaces the last block in a copy of the quantized model. The calibrated model and
// its checkpoints are never touched.
#pragma once

#include "harness/model/llama_model.h"
#include "harness/ptq/method.h"

#include <string>

namespace ptq::methods {

struct TtaOptions {
  std::string mode = "paper";      // "paper" | "released" (lrquant.h)
  std::string datasets = "auto";   // "auto" | "all"
  int epochs = 5;
  double let_lr = 1e-3, lwc_lr = 1e-2;
  bool let = true;
  std::string nlc = "released";
  std::string qk_scale = "released";
  quant::QuantizerSpec weight_spec;
};

// `fp_last_block`: the FP model's last block (a private copy is kept).
quant::EvalAdapter make_tta_adapter(const DecoderBlock& fp_last_block, const TtaOptions& options);

}  // namespace ptq::methods
