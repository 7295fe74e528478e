// The pipeline OmniQuant and LRQuant share (LRQuant's code is OmniQuant's with a different
// initialisation, loss and defaults): activation quantizers on, calibration checked, block-wise
// reconstruction with LWC (+ LET) parts, RTN as the NaN fallback, per-block checkpoints keyed by the
// run, biases declared for the saved checkpoint, the summary every such method reports.
#pragma once

#include "harness/ptq/method.h"
#include "harness/recon/block_recon.h"
#include "methods/omniquant/omni_parts.h"

#include <string>

namespace ptq::methods {

struct OmniPipeline {
  std::string method;  // names the checkpoint folder (<work_dir>/<method>/) and messages
  int epochs = 20;
  methods::LwcOptions lwc;
  methods::LetOptions let;
  recon::ReconOptions recon;  // epochs, batch size, loss, aug_loss, nan_policy (progress and checkpoints are set here)
};

// Quantizes `model` in place. `config` (the resolved config) keys the checkpoints.
quant::MethodReport run_omni_pipeline(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                                      quant::MethodContext& ctx, OmniPipeline p);

// RTN of the seven linears of a block, appending their scales and zero points (the NaN fallback).
void fold_rtn(DecoderBlock& block, const quant::QuantizerSpec& spec, const std::string& prefix,
              std::vector<std::pair<std::string, at::Tensor>>& qparams);

// OmniQuant's epochs per block (scripts/: 20, 40 for 2-bit weights) when `configured` is -1 (auto);
// the schedule CBQ and MPPQ adopt too.
int omniquant_epochs(int configured, const quant::QuantSetting& setting);

}  // namespace ptq::methods
