// Rotary position embeddings in Hugging Face's rotate-half convention (q/k rows of HF checkpoints are
// permuted for it; Meta/llama2.c checkpoints use interleaved pairs instead).
#pragma once

#include "harness/model/llama_config.h"

#include <ATen/core/Tensor.h>

namespace ptq {

struct RopeTables {
  at::Tensor cos, sin;  // [T, head_dim], in the compute dtype
};

// inv_freq in float32 exactly as transformers computes it (including linear / llama3 scaling).
at::Tensor rope_inv_freq(const LlamaConfig& config);
// cos/sin for positions 0..seqlen-1, computed in float32 then cast to `options`' dtype (as HF does).
RopeTables rope_tables(const LlamaConfig& config, int64_t seqlen, const at::TensorOptions& options);
// x: [B, heads, T, head_dim] -> x * cos + rotate_half(x) * sin.
at::Tensor apply_rope(const at::Tensor& x, const RopeTables& rope);

}  // namespace ptq
