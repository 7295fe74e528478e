// CBQ (Ding et al., ICLR 2025; no public code): cross-block reconstruction over a sliding window of
// blocks with the homologous two-branch loss, coarse-to-fine pre-processing (CFP), LoRA-Rounding and
// learnable weight step sizes (research/cbq_mppq.md §1). Every choice the paper leaves open is a
// default below marked [A] with its basis.
#pragma once

#include "harness/ptq/config_schema.h"
#include "harness/ptq/method.h"
#include "harness/recon/nan_policy.h"
#include "methods/cbq/cross_block.h"

#include <memory>
#include <string>

namespace ptq::methods {

struct CbqConfig {
  int64_t window = 2;   // blocks optimised jointly [S: Korean summary of v5; SliderQuant's re-implementation]
  int64_t overlap = 1;  // blocks shared by consecutive windows [S]
  int epochs = -1;      // per window; -1 = 20, 40 for 2-bit weights [A: OmniQuant's schedule]
  double step_lr = 1e-2;      // weight step factors (S^W = S0 * f) and S^X logits [A: OmniQuant lwc_lr]
  // S^X, the learnable activation steps: per-token dynamic min/max quantizers at the four linear inputs
  // whose range is scaled by a learned sigmoid(logit) per quantizer (init 4.0 as OmniQuant's LWC)
  // [A: the dossier's recommendation - a static per-tensor step is the other reading; it would break the
  // comparability with the per-token OmniQuant/QLLM baselines]. Only with quantized activations.
  bool act_steps = true;
  double act_clip_init = 4.0;
  double rounding_lr = 1e-3;  // LoRA-Rounding factors [A: AdaRound practice]
  // "lora" (rank-r logits, the paper) | "full" (AdaRound's full-rank logits: the ablation) | "nearest"
  // (plain round-to-nearest with learnable steps: the "no LoRA-Rounding" ablation).
  cbq::Rounding rounding = cbq::Rounding::kLora;
  int64_t rank = 8;             // [A] not in any readable source
  // Training forward of the learned rounding: "ste" (the hardened offsets forward, the soft offsets'
  // gradient back) or "soft" (AdaRound: h in [0, 1] forward, hardened when the block leaves the window).
  // [A, measured] The paper says "AdaRound-style" and nothing about the forward. The soft forward starts
  // at the FP weights (h = frac), so with CBQ's short schedule (5-40 epochs of 32 windows, where AdaRound
  // runs 20k iterations) training sees almost no quantization error until the regulariser binarises, and
  // hardening is a jump: on stories260K at W2A16 (10 epochs; scripts/cbq_vs_lwc) soft scores far behind
  // LWC-only OmniQuant, ste ahead of it (README, "CBQ against ptqbench's LWC-only OmniQuant").
  cbq::RoundingForward rounding_forward = cbq::RoundingForward::kSte;
  double rounding_weight = 0.01;  // lambda_r [C: AdaRound/BRECQ's weight]
  // "adaround": lambda_r * the sum of the regulariser over every rounded weight of the window, against
  // the per-token squared error [C: AdaRound's and BRECQ's code: reconstruction error summed over a
  // sample's features and averaged over samples, round loss lambda * sum]; "mean": the mean over weights
  // and blocks (the form before issue #25, which left most soft offsets far from {0, 1}).
  cbq::RegularizerScale rounding_regularizer = cbq::RegularizerScale::kAdaRound;
  double warmup = 0.2;          // fraction of each window's steps without the regulariser [A: AdaRound]
  double beta_start = 20, beta_end = 2;  // [A: AdaRound]
  double kl_weight = 1.0;           // E = ||.||^2 + kl_weight * KL(softmax(fp) || softmax(q)) [A: 1:1]
  // E's squared error: "paper" = ||h_q - h_fp||^2 per token, summed over the hidden dimension like the
  // KL term (the formula E = ||.||^2 + KL as the summaries quote it); "mse-mean" = the mean over elements
  // (before issue #25: the KL term then weighs hidden-size times more).
  cbq::Distance distance = cbq::Distance::kPaper;
  double homologous_weight = 1.0;   // the second branch E(T_fp(X_q), T_q(X_q)) [A: 1:1]
  bool cfp = true;                  // coarse-to-fine pre-processing of activations and weights (cfp.h)
  enum class CfpQuantiles { kPaper, kHuawei } cfp_quantiles = CfpQuantiles::kPaper;  // "paper" 0.25/0.75 | "huawei" 0.20/0.80 [C: msModelSlim]
  bool cfp_weights = true;          // per-row truncation of weight outliers [A: per output row]
  // CFP's activation scaling: "auto" = only when activations are quantized [A: the scaling exists to
  // ease activation quantization; at W*A16 it only moves activation outliers into the weights], "on",
  // "off".
  quant::Switch cfp_activations = quant::Switch::kAuto;
  int64_t batch_size = 1;
  // A NaN/Inf loss: "stop", or "skip-block": the window's parameters go back to their values at the
  // window's start (fresh blocks: CFP + round-to-nearest) and the run goes on.
  recon::NanPolicy nan_policy = recon::NanPolicy::kStop;
  // LoRA-Rounding's random A2 init: drawn from seed + 7 * block + linear (no source gives one; before
  // this key the init came from the process's global generator, so CBQ results varied between runs).
  int64_t seed = 0;

  static const quant::ConfigSchema<CbqConfig>& schema();  // the fields' keys, sources, allowed values
  nlohmann::json to_json() const;
  static CbqConfig from_json(const nlohmann::json& j);  // strict (schema) + range checks
};

std::unique_ptr<quant::Method> make_cbq();

}  // namespace ptq::methods
