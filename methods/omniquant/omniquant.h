// OmniQuant (Shao et al., ICLR 2024): block-wise reconstruction (harness/recon) with learnable weight
// clipping (LWC) and learnable equivalent transformation (LET, methods/omniquant/let.h). Every default is the
// released code's (OpenGVLab/OmniQuant main.py + scripts/) unless `mode` is "paper"; sources below and
// in research/omniquant_lrquant.md §1.6.
#pragma once

#include "harness/ptq/config_schema.h"
#include "harness/ptq/method.h"
#include "harness/recon/nan_policy.h"
#include "methods/omniquant/let.h"

#include <memory>
#include <string>

namespace ptq::methods {

struct OmniQuantConfig {
  // Training epochs per block. -1 = the released scripts' value: 20, 40 for 2-bit weights
  // (scripts/Llama-2/*/w2a16*.sh use --epochs 40; all others 20). 0 = no training (LWC at its init).
  int epochs = -1;
  // Learnable weight clipping; on in every released script.
  bool lwc = true;
  // LWC learning rate. "released": 1e-2 (main.py --lwc_lr default, used by every script); the paper
  // (§4.1) says 5e-3 - and issue #102 shows it failing on W2A16 - see `mode`.
  double lwc_lr = 0;  // 0 = by mode
  // "released" (main.py + scripts at HEAD, reproduces the published numbers) | "paper" (what the paper
  // states and the paper-era code did, where they differ): learning rates (lwc 5e-3 / let 1e-2 instead
  // of 1e-2 / 5e-3), LLaMA shifts (trained from 0 until commit 7984672; off since), SmoothQuant init
  // (signed W.max until ae39458; |W|.max since), folding (in fp32 then cast, before PR #36; cast then
  // fold since - identical on CPU).
  enum class Mode { kReleased, kPaper } mode = Mode::kReleased;
  // aug_loss (second MSE target: the FP block on the quantized-path input; not in the paper). "auto" =
  // as the scripts: on for 2-bit weight-only settings, off otherwise.
  quant::Switch aug_loss = quant::Switch::kAuto;
  // LET: "auto" = on for weight-activation settings (as the scripts), off for weight-only LLaMA
  // (paper Table A3, scripts); "off" with activation quantization = the LWC-only ablation.
  quant::Switch let = quant::Switch::kAuto;
  // LET learning rate; 0 = by mode (released: 5e-3, main.py --let_lr; paper: 1e-2). The Llama-2-7B/13B
  // W4A4 scripts use 1e-3 with alpha 0.75 (experiments/omniquant_table2.json sets them per model).
  double let_lr = 0;
  // SmoothQuant migration strength of LET's initial scales: 0.5 (main.py --alpha); 0.75 in the scripts
  // for LLaMA-30B, Llama-2-7B/13B W4A4.
  double alpha = 0.5;
  // LET shifts: "auto" = released: none for LLaMA (use_shift = False since 7984672); paper: trained
  // from 0. "on" trains them; "off" has none. A non-zero shift gives the norms and linears biases.
  quant::Switch shift = quant::Switch::kAuto;
  // LET's initial scales: "smoothquant" (the reference) | "identity" (all 1: an ablation).
  std::string let_init = "smoothquant";
  // SmoothQuant weight statistic: "auto" = released |W|.max; paper W.max (signed) | "abs_max" | "signed_max".
  enum class SmoothInit { kAuto, kAbsMax, kSignedMax } smooth_init = SmoothInit::kAuto;
  // q/k scale (before RoPE, as the reference): "released" free per channel (an identity only up to
  // RoPE's channel pairing) | "rope_paired" (tied on RoPE pairs: exact) | "off".
  QkScale qk_scale = QkScale::kReleased;
  // A NaN/Inf training loss: "stop" (error naming block, epoch, step) | "skip-block" (that block
  // keeps plain RTN, the run goes on and the report lists it). Not in the reference, which stops.
  recon::NanPolicy nan_policy = recon::NanPolicy::kStop;
  int64_t batch_size = 1;  // samples per step, fixed order, no shuffling (omniquant.py)

  static const quant::ConfigSchema<OmniQuantConfig>& schema();  // the fields' keys, sources, allowed values
  nlohmann::json to_json() const;
  static OmniQuantConfig from_json(const nlohmann::json& j);  // strict (schema) + range checks
};

std::unique_ptr<quant::Method> make_omniquant();

}  // namespace ptq::methods
