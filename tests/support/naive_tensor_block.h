// Pieces of a Llama block written from the equations with tensor ops in double precision, shared by the
// tests that check closed-form methods (test_closed_form, test_awq) against a forward of their own.
#pragma once

#include "harness/model/llama_config.h"

#include <ATen/core/Tensor.h>

namespace ptq::test {

// RMSNorm: x / sqrt(mean(x^2) + eps) * w, in double.
at::Tensor naive_rms(const at::Tensor& x, const at::Tensor& w, double eps);
// HF's rotary embedding on [T, heads, d]: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), theta^(-2i/d).
at::Tensor naive_rope(const at::Tensor& x, double theta);
// Causal GQA attention context (before o_proj) of one sequence n1 [T, hidden] with projection weights
// wq, wk, wv (no biases) -> [T, heads * head_dim].
at::Tensor naive_context(const LlamaConfig& c, const at::Tensor& n1, const at::Tensor& wq, const at::Tensor& wk,
                         const at::Tensor& wv);

}  // namespace ptq::test
