// Outlier injection by an exact equivalence transform, so that the trained tiny model has the activation
// outliers that make low-bit activation quantization hard in LLaMA models while computing the same
// function:
//   - a few hidden channels c (the same in every layer, as LLaMA's outlier dimensions are) of each
//     RMSNorm weight are multiplied by s, and the matching input columns of the linears that read that
//     norm's output (q/k/v after input_layernorm, gate/up after post_attention_layernorm) divided by s;
//   - a few intermediate channels j per layer: up_proj row j times s, down_proj column j divided by s
//     (silu(gate) * up is linear in up), so down_proj's input has outliers too.
// Factors are powers of two, so that the multiplications and divisions are exact in floating point.
#pragma once

#include "model/llama_model.h"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace ptq::tiny {

struct OutlierSpec {
  int hidden_channels = 4;        // per norm (the same channels in every layer)
  int intermediate_channels = 4;  // per MLP
  int min_log2 = 5, max_log2 = 6;  // factors 2^5 = 32 .. 2^6 = 64
  uint64_t seed = 0;
};

// Applies the transform in place; returns which channels got which factors.
nlohmann::json inject_outliers(LlamaModel& model, const OutlierSpec& spec);

}  // namespace ptq::tiny
