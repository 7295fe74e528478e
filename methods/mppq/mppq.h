// MPPQ (Wei, Yan, Wang, IJCAI 2025; no public text beyond the abstract, no code): LRQuant's pipeline
// (LAE-initialised LET with trained shifts, LWC) plus the abstract's three parts, in the forms the
// dossier proposes (research/cbq_mppq.md §2.4; every one an assumption [A]):
//   - mixed-metric supervision: mse * MSE + cos * NLC + kl * KL(softmax(fp) || softmax(q)) per token;
//   - proxy rounding: W_int = round(W / (S * exp(P))) with a learned element-wise log-proxy P from 0
//     (FlexRound's element-wise division), de-quantized with S, so folding yields integer-grid weights;
//   - coarse pre-search of clipping factors: per linear, the ratio of a grid with the least layer-output
//     error initialises LWC.
//   - "strong regularization for learnable parameters": an L2 pull of the trained parameters toward
//     their initial values (param_regularization).
// Ablations: "kl_weight": 0 (LRQuant's MSE + NLC), "proxy": false, "presearch": false,
// "param_regularization": 0.
#pragma once

#include "harness/ptq/config_schema.h"
#include "harness/ptq/method.h"
#include "harness/recon/nan_policy.h"
#include "methods/mppq/clip_search.h"
#include "methods/omniquant/let.h"

#include <memory>
#include <string>
#include <vector>

namespace ptq::methods {

struct MppqConfig {
  int epochs = -1;          // -1: 20, and 40 for 2-bit weights [A: OmniQuant's schedule]
  bool lwc = true;
  double lwc_lr = 1e-2;     // [A: LRQuant]
  double let_lr = 1e-3;     // [A: LRQuant]
  quant::Switch let = quant::Switch::kAuto;  // on for weight-activation settings, off for weight-only ones (as LRQuant)
  double mse_weight = 1.0, cos_weight = 1.0, kl_weight = 1.0;  // [A: LRQuant's 1:1, CBQ's KL 1:1]
  bool proxy = true;
  double proxy_lr = 1e-3;   // [A]
  // The abstract's "strong regularization for learnable parameters" [A: our reading - the abstract gives
  // no form]: lambda * the mean over the trained tensors (LWC logits, proxies, LET scales and shifts) of
  // mean((theta - theta_0)^2), an L2 pull toward the initial values (RTN for the proxies, the pre-searched
  // clipping, LAE's scales), against the proxies' overfitting of the calibration windows. lambda 1e-3: a
  // clipping logit moved by 1 costs about what a W4A4 block's loss is on tiny-llama. 0 = off (ablation).
  double param_regularization = 1e-3;
  bool presearch = true;
  std::vector<double> presearch_grid = default_clip_grid();  // 0.982, 0.95, ..., 0.50 [A]; [] = this grid
  int64_t presearch_tokens = 2048;     // calibration tokens per block for the search [A]
  QkScale qk_scale = QkScale::kReleased;
  recon::NanPolicy nan_policy = recon::NanPolicy::kStop;
  int64_t batch_size = 1;

  static const quant::ConfigSchema<MppqConfig>& schema();  // the fields' keys, sources, allowed values
  nlohmann::json to_json() const;
  static MppqConfig from_json(const nlohmann::json& j);  // strict (schema) + range checks
};

std::unique_ptr<quant::Method> make_mppq();

}  // namespace ptq::methods
