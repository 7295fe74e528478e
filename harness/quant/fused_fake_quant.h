// Fused fake-quantization (issue #11) for asymmetric min/max quantizers: per-token activations
// (fake_quant_per_token) and per-channel / per-group weights with learnable clipping (fake_quant_weight),
// each in one pass per row with a hand-written backward (straight-through rounding, clamp masks, the
// range's gradient through min/max and the clipping logits) instead of autograd's graph of ~12 composed
// ops and their temporaries.
// The forward is bit-identical to the composed ops; gradients agree up to float summation order.
// CPU: parallel loops over rows (fp32). CUDA: one block per row (fp32, fp16, bf16; compiled when
// LibTorch has CUDA). The arithmetic lives in fused_fake_quant_math.h, shared by both.
#pragma once

#include "harness/quant/uniform_quantizer.h"

#include <ATen/core/Tensor.h>

namespace ptq::quant {

// Whether fused_fake_quant_per_token handles this quantizer and input (else use the composed ops).
bool fused_per_token_supported(const at::Tensor& x, const QuantizerSpec& spec);

// Same contract as fake_quant_per_token (x of any leading shape, tokens along the last dim; clip_logit an
// optional scalar). Differentiable w.r.t. x and clip_logit.
at::Tensor fused_fake_quant_per_token(const at::Tensor& x, const QuantizerSpec& spec, const at::Tensor& clip_logit = {});

// Weight fake-quantization with OmniQuant's learnable weight clipping (fake_quant_weight's contract for
// asymmetric min/max quantizers): rows are output channels or groups of `group_size` input columns;
// lwc_up / lwc_low hold one logit per row ([rows, 1], lwc_init's shape) or are undefined. Differentiable
// w.r.t. the weight and both logits.
bool fused_weight_supported(const at::Tensor& weight, const QuantizerSpec& spec);
at::Tensor fused_fake_quant_weight(const at::Tensor& weight, const QuantizerSpec& spec, const at::Tensor& lwc_up = {},
                                   const at::Tensor& lwc_low = {});

}  // namespace ptq::quant
