// Fused per-token activation fake-quantization (issue #11): the quantize-dequantize of
// fake_quant_per_token for asymmetric min/max quantizers in one pass over each token, with a
// hand-written backward (straight-through rounding, clamp masks, the range's gradient through min/max
// and the optional clipping logit) instead of autograd's graph of ~12 composed ops and their temporaries.
// The forward is bit-identical to the composed ops; gradients agree up to float summation order.
// CPU: parallel loops over tokens (fp32). CUDA: one block per token (fp32, fp16, bf16; compiled when
// LibTorch has CUDA). The arithmetic lives in fused_fake_quant_math.h, shared by both.
#pragma once

#include "quant/uniform_quantizer.h"

#include <ATen/core/Tensor.h>

namespace ptq::quant {

// Whether fused_fake_quant_per_token handles this quantizer and input (else use the composed ops).
bool fused_per_token_supported(const at::Tensor& x, const QuantizerSpec& spec);

// Same contract as fake_quant_per_token (x of any leading shape, tokens along the last dim; clip_logit an
// optional scalar). Differentiable w.r.t. x and clip_logit.
at::Tensor fused_fake_quant_per_token(const at::Tensor& x, const QuantizerSpec& spec, const at::Tensor& clip_logit = {});

}  // namespace ptq::quant
