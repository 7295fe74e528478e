// The core of causal self-attention, softmax(q k^T / sqrt(hd) + causal mask) v, for CPU float32: each
// (sequence, head) pair is an independent task, run side by side on the reproducible mode's workers
// (util/parallel_tasks.h), forward and backward. The arithmetic is exactly autograd's over the
// batched ops it replaces - the same per-matrix GEMM calls bmm makes, the same in-place division and
// mask, the same softmax and softmax backward kernels, the same gradient GEMMs - so every number is
// bit-identical to the unfused path (the reconstruction loss logs of the released OmniQuant code and of
// ptqbench agree step for step; tests/unit/test_attention_core.cpp compares values and gradients).
// Why: in reproducible mode ATen runs one thread per op, so the heads' score matrices (most of a
// small model's step) used only one core.
#pragma once

#include <ATen/core/Tensor.h>

namespace ptq {

// Whether causal_attention_core handles these tensors (CPU float32); otherwise use the batched ops.
bool attention_core_supported(const at::Tensor& q);

// q, k, v: [N, T, hd] (N = sequences x heads, K/V already repeated for GQA). Returns [N, T, hd]
// (contiguous). Differentiable w.r.t. q, k and v.
at::Tensor causal_attention_core(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double sqrt_hd);

}  // namespace ptq
