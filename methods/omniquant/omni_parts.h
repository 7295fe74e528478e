// OmniQuant's learnable parts of one block: LWC on the seven linears and, optionally, LET
// (methods/omniquant/let.h). Each training step: truncate the LET scales (|s| < 1e-2 -> sign(s) * 1e-2), apply
// LET to the FP block, fake-quantize the seven weights with LWC. Folding does the same once, without
// gradients, and stores the fake-quantized weights (quantize/omniquant.py: smooth_and_quant_*).
#pragma once

#include "harness/quant/uniform_quantizer.h"
#include "harness/recon/block_recon.h"
#include "methods/omniquant/let.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ptq::methods {

struct LwcOptions {
  bool enabled = true;  // false: logits frozen at +30 (sigmoid = 1 in fp32): plain min/max
  double lr = 1e-2;
  double init = 4.0;  // sigmoid(4) = 0.982 of min and max (the reference)
  // Each linear's starting clipping ratio c (LWC's logits start at logit(c); c = 1: no clipping), computed
  // on the LET-initialised block from the block's inputs (MPPQ's coarse pre-search,
  // methods/mppq/clip_search.h). Empty function, or an empty result: the fixed `init` for all seven.
  std::function<std::vector<double>(const DecoderBlock& let_initialised, const recon::BlockInputs& in,
                                    const quant::QuantizerSpec& weight_spec)>
      initial_ratios;
  // MPPQ's proxy rounding (quant::fake_quant_weight_proxy): a learned element-wise log-proxy per weight,
  // starting at 0 (= RTN), trained at `proxy_lr`; folding stores the integer-grid result.
  bool proxy = false;
  double proxy_lr = 1e-3;
  // MPPQ's "strong regularization for learnable parameters": the parts' regulariser is the mean over the
  // trained tensors (LWC logits, proxies, LET scales and shifts) of mean((theta - theta_0)^2), an L2 pull
  // toward the initial values; the engine weighs it with ReconOptions::regularizer_weight.
  bool anchor_to_init = false;
};

struct LetOptions {
  bool enabled = false;
  double lr = 5e-3;
  // Initial scales: "smoothquant" (OmniQuant) | "identity" (all 1: an ablation) | another method's
  // rule, named here for the records and computed by `initialiser` (LRQuant's "lae").
  std::string init = "smoothquant";
  std::function<LetParams(const DecoderBlock& block, const LlamaConfig& config, const LinearInputAbsMax& act,
                          bool with_shift, bool with_qk)>
      initialiser;
  double alpha = 0.5;              // SmoothQuant migration strength of the initialisation
  bool shift = false;              // channel shifts d1, d2, d4 (init 0 for LLaMA)
  bool train_shift = false;        // shifts in the optimizer (the paper-era code) or frozen
  bool signed_weight_max = false;  // paper-era SmoothQuant init (W.max instead of |W|.max)
  QkScale qk_scale = QkScale::kReleased;  // methods/omniquant/let.h
  double truncate = 1e-2;
  // Fold in float32 and cast the result to the model's dtype (paper-era code, LRQuant) rather than
  // casting the parameters first and folding in the model's dtype (the reference since PR #36).
  // Identical on CPU, where everything is float32.
  bool fold_in_fp32 = false;
};

std::unique_ptr<recon::BlockParts> make_omni_parts(const recon::BlockInputs& in, const quant::QuantizerSpec& weight_spec,
                                            const LwcOptions& lwc, const LetOptions& let);

}  // namespace ptq::methods
