// An independent reference for the Llama forward pass, written from the equations with scalar loops in
// double precision, one token at a time with an explicit KV cache. It shares no code with
// harness/model (only reads the weights), so agreement is evidence that both are right.
// Architecture variants (harness/model/llama_config.h), each from its own equations: linear biases
// (qwen2's q/k/v, attention_bias, mlp_bias), qwen3's per-head q/k RMSNorm before RoPE, RoPE without
// scaling, "linear" or "llama3" scaling ("dynamic" equals none at the lengths used). No sliding
// window: the harness refuses sequences longer than one. Norm biases (LET's shifts) are added too.
//
// With a NaiveQuant it is also the independent fake-quantization reference: weights are quantized here,
// row by row with scalar float arithmetic (as OmniQuant's formulas, evaluated the way torch does in
// float32), and activations per token / per (head, token) at the points where OmniQuant quantizes them.
#pragma once

#include "harness/model/llama_model.h"

#include <cstdint>
#include <vector>

namespace ptq::test {

struct NaiveQuant {
  int wbits = 16, abits = 16, kvbits = 16;
  int64_t group = 0;  // 0: per output channel
};

// One row quantize-dequantized with asymmetric min/max (scale clamped to [1e-5, 1e4]), in float.
std::vector<float> naive_fake_quant_row(const std::vector<float>& row, int bits);

// logits[t][v] for the token sequence `ids`; `model` holds the full-precision weights.
std::vector<std::vector<double>> naive_logits(const LlamaModel& model, const std::vector<int64_t>& ids,
                                              const NaiveQuant& quant = {});

// GPTQ-protocol perplexity computed from naive_logits: segments of seqlen, mean CE over seqlen-1
// predictions each, ppl = exp(mean of segment CEs). Scores the first `segments` segments.
struct NaivePpl {
  double ppl, nll;
  int64_t tokens;
};
NaivePpl naive_perplexity(const LlamaModel& model, const std::vector<int64_t>& stream, int64_t seqlen,
                          int64_t segments, const NaiveQuant& quant = {});

}  // namespace ptq::test
