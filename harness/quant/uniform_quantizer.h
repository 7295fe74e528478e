// The uniform affine fake-quantizer shared by all methods, with OmniQuant's semantics
// (quantize/quantizer.py, UniformAffineQuantizer; research/omniquant_lrquant.md §1.1):
//
//   rows      = x reshaped so that the last dim is the quantization group (a weight row, a group of
//               `group_size` input columns, or a token); min/max over it, recomputed at every call
//   LWC       = xmax *= sigmoid(up), xmin *= sigmoid(low)            (learnable clipping, init logit 4.0)
//   asymmetric: scale = clamp((xmax - xmin) / (2^N - 1), 1e-5, 1e4); zero = round(clamp(-xmin / scale, +-1e4))
//   symmetric : scale = clamp(max(|xmin|, |xmax|) / (2^(N-1) - 1), 1e-5, 1e4); zero = 2^(N-1) - 1
//   x_hat     = (clamp(round_ste(x / scale) + zero, 0, 2^N - 1) - zero) * scale
//
// The zero point is rounded with no gradient; round_ste passes gradients straight through; the clamp on
// the integer grid stops the gradient w.r.t. x for clipped elements but not w.r.t. scale, which is what
// makes LWC trainable. A constant row gets scale 1e-5 (the clamp) exactly as in OmniQuant, whatever
// that does to it. bits >= 16 is the identity.
//
// GPTQ's `--nearest` RTN (quant.py) is the `kGptqNearest` range rule: per output channel, the range is
// forced to contain 0 (xmin = min(min, 0), xmax = max(max, 0)), an all-zero row uses [-1, 1], the scale is
// not clamped, and groups are ignored. Symmetric, as quant.py's `sym`: xmax = max(|xmin|, xmax), xmin =
// -xmax where xmin < 0, zero point (2^N) / 2.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ptq::quant {

enum class RangeRule { kMinMax, kGptqNearest };

struct QuantizerSpec {
  int bits = 16;
  bool symmetric = false;
  int64_t group_size = 0;  // weights: 0 = per output channel; > 0 = groups of input columns
  RangeRule range = RangeRule::kMinMax;
  bool enabled() const { return bits < 16; }
  int64_t qmax() const { return (int64_t{1} << bits) - 1; }
};

struct QParams {
  at::Tensor scale;  // [rows, 1]
  at::Tensor zero;   // [rows, 1], integer-valued, no gradient
};

// Scale and zero point of every row of `rows` ([R, G]); lwc_up / lwc_low ([R, 1] logits) are optional.
QParams compute_qparams(const at::Tensor& rows, const QuantizerSpec& spec, const at::Tensor& lwc_up = {},
                        const at::Tensor& lwc_low = {});
// Quantize-dequantize `rows` with given parameters (straight-through rounding when autograd is on).
at::Tensor fake_quant_rows(const at::Tensor& rows, const QParams& qp, const QuantizerSpec& spec);

// A weight [out, in] -> its fake-quantized copy, per output channel or per group of input columns.
// `qparams_out`, when given, receives the scales and zero points as [out, in / group] (or [out, 1]).
at::Tensor fake_quant_weight(const at::Tensor& weight, const QuantizerSpec& spec, const at::Tensor& lwc_up = {},
                             const at::Tensor& lwc_low = {}, QParams* qparams_out = nullptr);
// Proxy rounding (MPPQ [A]: FlexRound's element-wise division): the integer is round(W / (S * exp(P)))
// with a learnable element-wise log-proxy P ([out, in], 0 = plain RTN), the weight is de-quantized with S
// alone: W_hat = S * (clamp(round_ste(W / (S * exp(P))) + z, 0, 2^N - 1) - z). S and z come from the
// min/max (with LWC) of W as in fake_quant_weight; the result always lies on the integer grid of S.
at::Tensor fake_quant_weight_proxy(const at::Tensor& weight, const QuantizerSpec& spec, const at::Tensor& lwc_up,
                                   const at::Tensor& lwc_low, const at::Tensor& log_proxy, QParams* qparams_out = nullptr);
// Dynamic per-token quantization over the last dim of x (any leading shape): activations, and Q/K/V per
// (head, token) when x is [B, heads, T, head_dim]. `clip_logit` (optional, a scalar): both ends of every
// token's range times sigmoid(clip_logit), so the step is sigmoid(clip_logit) times the min/max step - a
// learnable activation step (CBQ's S^X) that stays dynamic per token.
at::Tensor fake_quant_per_token(const at::Tensor& x, const QuantizerSpec& spec, const at::Tensor& clip_logit = {});
// Which implementation fake_quant_per_token trains with (PTQ_FUSED_QUANT=off|on, read once). off (the
// default): the composed ops. on: the fused quantizer (quant/fused_fake_quant.h) wherever it applies.
// Forwards are bit-identical, gradients differ in float summation order only - but a W4A4 model trained
// on it is a slightly different model, so stored baselines would move: opt-in until results are
// re-baselined with it (and, on CUDA, until its kernels have passed the `gpu` tests on a GPU).
enum class FusedPolicy { kOff, kOn };
FusedPolicy fused_policy();

// Learnable clipping logits for a weight of this shape: [out * in / group, 1], filled with `init`.
at::Tensor lwc_init(const at::Tensor& weight, const QuantizerSpec& spec, double init = 4.0);

}  // namespace ptq::quant
