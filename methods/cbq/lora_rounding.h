// CBQ's LoRA-Rounding (research/cbq_mppq.md §1.2.5): AdaRound's learned rounding whose logit matrix
// is low-rank. For a weight W [out, in] with quantization rows (per channel or per group) of scale S
// and zero point z:
//   h(V)  = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1),  zeta = 1.1, gamma = -0.1 (AdaRound)
//   W_q   = S * (clamp(floor(W / S) + h(V) + z, 0, 2^b - 1) - z),   V = A1 A2, A1 [out, r], A2 [r, in]
//   L_com = sum(1 - |2 h(V) - 1|^beta)   (AdaRound's regulariser), beta annealed 20 -> 2 after a
//           20 % warm-up without it
// Init [A]: A1 A2 = the best rank-r approximation (truncated SVD) of AdaRound's init
// V0 = -log((zeta - gamma) / (frac(W / S) - gamma) - 1), so training starts near W itself. rank 0 =
// full-rank V (AdaRound: the ablation). Hardening: h -> 1[h >= 0.5], an integer-grid weight.
#pragma once

#include "quant/uniform_quantizer.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ptq::methods::cbq {

struct LoraRoundingOptions {
  int64_t rank = 8;  // 0 = full-rank AdaRound
  double zeta = 1.1, gamma = -0.1;
};

class LoraRounding {
 public:
  // `qp`: the quantizer's scale and zero point of W's rows, as fake_quant_weight returns them
  // ([out, in / group] or [out, 1]).
  LoraRounding(const at::Tensor& weight, const quant::QParams& qp, const quant::QuantizerSpec& spec,
               const LoraRoundingOptions& options);
  std::vector<at::Tensor> parameters() const;  // A1, A2 (or V when full rank)
  int64_t parameter_count() const;
  at::Tensor soft_offsets() const;  // h(V), [out, in]
  // The fake-quantized weight with soft (training) or hardened offsets; `scale` may be a learnable
  // replacement of the initial scale (same shape).
  at::Tensor quantized(const at::Tensor& scale, bool hard) const;
  // AdaRound's regulariser at `beta`.
  at::Tensor regularizer(double beta) const;

 private:
  at::Tensor rows(const at::Tensor& x) const;  // [out, in] -> quantization rows
  at::Tensor weight_, zero_;
  quant::QuantizerSpec spec_;
  LoraRoundingOptions o_;
  at::Tensor a1_, a2_, v_;
};

// beta at training progress t in [0, 1]: 0 (no regulariser) during the warm-up, then linear 20 -> 2.
// Returns a negative value during the warm-up.
double rounding_beta(double t, double warmup = 0.2, double start = 20.0, double end = 2.0);

}  // namespace ptq::methods::cbq
