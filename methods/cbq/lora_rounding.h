// CBQ's LoRA-Rounding (research/cbq_mppq.md §1.2.5): AdaRound's learned rounding whose logit matrix
// is low-rank. For a weight W [out, in] with quantization rows (per channel or per group) of scale S
// and zero point z:
//   h(V)  = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1),  zeta = 1.1, gamma = -0.1 (AdaRound)
//   W_q   = S * (clamp(floor(W / S) + h(V) + z, 0, 2^b - 1) - z),   V = V0 + A1 A2, A1 [out, r], A2 [r, in]
//   L_com = sum(1 - |2 h(V) - 1|^beta)   (AdaRound's regulariser), beta annealed 20 -> 2 after a
//           20 % warm-up without it
// [A] LoRA in its usual sense: V0 = AdaRound's init -log((zeta - gamma) / (frac(W / S) - gamma) - 1) is a
// frozen base and only the rank-r update A1 A2 is learned (A1 = 0 at the start), so training starts at
// h = frac (the soft weight is W) and the hardened start is round-to-nearest. Evidence: the paper's
// memory ablation (AdaRound 27.73 GB vs LoRA-Rounding 21.01 GB) saves a quarter, not ~all, of the memory -
// the full-size logits are still held, only their gradients and optimizer states shrink. A pure
// rank-r V (no base) cannot express per-element rounding and measured far worse than RTN on tiny-llama
// (W2A16 wikitext2 2.18 vs 1.38). rank 0 = full-rank V (AdaRound: the ablation). Hardening:
// h -> 1[h >= 0.5], an integer-grid weight.
#pragma once

#include "harness/quant/uniform_quantizer.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ptq::methods::cbq {

struct LoraRoundingOptions {
  int64_t rank = 8;  // 0 = full-rank AdaRound
  double zeta = 1.1, gamma = -0.1;
  // A2's random init is drawn from a CPU generator with this seed (then moved to the weight's device),
  // never from the process's global generator: the same numbers on every run and machine.
  uint64_t seed = 0;
};

class LoraRounding {
 public:
  // `qp`: the quantizer's scale and zero point of W's rows, as fake_quant_weight returns them
  // ([out, in / group] or [out, 1]).
  LoraRounding(const at::Tensor& weight, const quant::QParams& qp, const quant::QuantizerSpec& spec,
               const LoraRoundingOptions& options);
  std::vector<at::Tensor> parameters() const;  // A1, A2 (or V when full rank)
  int64_t parameter_count() const;
  int64_t offsets() const { return weight_.numel(); }  // one soft offset per weight
  at::Tensor soft_offsets() const;  // h(V), [out, in]
  // kSoft: AdaRound's training forward; kHard: the final {0,1} offsets; kStraightThrough: hardened
  // offsets forward with the soft offsets' gradient.
  enum class Offsets { kSoft, kHard, kStraightThrough };
  // The fake-quantized weight. `scale` may be a learnable replacement of the initial scale (same shape);
  // the integer grid floor(W / S0) stays that of the initial scale S0, so a learned step rescales the
  // grid and never re-buckets an element under offsets learned for another bucket [A: the dossier's
  // "floor as a constant" option; AdaRound keeps S fixed].
  at::Tensor quantized(const at::Tensor& scale, Offsets offsets) const;
  // AdaRound's regulariser at `beta` (summed over the elements).
  at::Tensor regularizer(double beta) const;
  // How many soft offsets lie within `tol` of 0 or 1 (hardening moves them by at most tol).
  int64_t near_binary(double tol = 0.01) const;

 private:
  at::Tensor rows(const at::Tensor& x) const;  // [out, in] -> quantization rows
  at::Tensor weight_, zero_, base_;  // base_: floor(W / S0) as quantization rows
  quant::QuantizerSpec spec_;
  LoraRoundingOptions o_;
  at::Tensor v0_, a1_, a2_, v_;  // V = v_ (full rank) or v0_ + a1_ a2_ (LoRA, v0_ frozen)
};

// beta at training progress t in [0, 1]: 0 (no regulariser) during the warm-up, then linear 20 -> 2.
// Returns a negative value during the warm-up.
double rounding_beta(double t, double warmup = 0.2, double start = 20.0, double end = 2.0);

}  // namespace ptq::methods::cbq
