// Where activations are fake-quantized in the forward pass: OmniQuant's placement for LLaMA
// (models/int_llama_layer.py; research/omniquant_lrquant.md §1.2):
//   - the input of every decoder linear, per token (q/k/v share one input, gate/up share one input,
//     so each shared input is quantized once - the reference quantizes it three/two times, identically);
//   - Q after RoPE and before the 1/sqrt(d) scaling, K after RoPE, V: per (head, token) over head_dim.
//     The reference quantizes K and V after the GQA repeat; repeating only duplicates rows, so quantizing
//     before the repeat gives the same values.
// The softmax output, embeddings, final norm and lm_head are never quantized.
#pragma once

#include "harness/quant/uniform_quantizer.h"

namespace ptq::quant {

struct ActivationQuant {
  QuantizerSpec linear_input;  // per token
  QuantizerSpec qkv;           // per (head, token)
  bool enabled() const { return linear_input.enabled() || qkv.enabled(); }
};

}  // namespace ptq::quant
