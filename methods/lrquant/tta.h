// LRQuant's test-time adaptation (quantize/TTA.py; research/omniquant_lrquant.md §2.3): before a
// perplexity task is scored, a fresh quantized copy of the FP last block (LWC at init 4.0, LET scales 1
// and shifts 0) is trained for a few epochs on the task's own windows against the FP last block
// (MSE + NLC), then replaces the last block in a copy of the quantized model. The calibrated model and
// its checkpoints are never touched.
#pragma once

#include "harness/model/llama_model.h"
#include "harness/ptq/method.h"
#include "harness/recon/nan_policy.h"
#include "harness/recon/precision.h"
#include "methods/lrquant/nlc_loss.h"
#include "methods/omniquant/let.h"

#include <string>
#include <utility>
#include <vector>

namespace ptq::methods {

// "paper": the last block adapted on its true inputs with activation quantization on; "released"
// (TTA.py): on the embeddings, without activation quantization in that block (lrquant.h).
enum class TtaMode { kPaper, kReleased };
const std::vector<std::pair<std::string, TtaMode>>& tta_mode_names();  // "paper", "released"

struct TtaOptions {
  TtaMode mode = TtaMode::kPaper;  // lrquant.h
  bool all_datasets = false;  // false: only tasks other than the calibration dataset (main.py)
  int epochs = 5;
  double let_lr = 1e-3, lwc_lr = 1e-2;
  bool let = true;
  bool lwc = true;             // the lrquant config's lwc (off: plain min/max weights, as in calibration)
  int64_t batch_size = 1;      // the config's; lowered to the largest divisor of the task's window count
  recon::NanPolicy nan_policy = recon::NanPolicy::kStop;  // skip-block: the task is scored unadapted
  recon::PrecisionPolicy precision;  // the engine's (recon/precision.h) for the quantized model
  NlcForm nlc = NlcForm::kReleased;
  QkScale qk_scale = QkScale::kReleased;
  quant::QuantizerSpec weight_spec;
};

// `fp_last_block`: the FP model's last block (a private copy is kept).
quant::EvalAdapter make_tta_adapter(const DecoderBlock& fp_last_block, const TtaOptions& options);

}  // namespace ptq::methods
