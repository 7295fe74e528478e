// Exact equivalence transforms that give the trained tiny model the statistics that make real LLMs hard
// to quantize, while computing the same function (factors are powers of two, so every multiplication and
// division is exact in floating point):
//   - activation outliers (LLaMA's outlier channels): a few hidden channels c (the same in every layer, as
//     LLaMA's outlier dimensions are) of each RMSNorm weight are multiplied by s, and the matching input
//     columns of the linears that read that norm's output (q/k/v after input_layernorm, gate/up after
//     post_attention_layernorm) divided by s; likewise a few intermediate channels per layer (up_proj row
//     times s, down_proj column divided by s: silu(gate) * up is linear in up), so down_proj's input has
//     outliers too;
//   - heavy-tailed weights: the inverse on other channels - the norm weight divided by s and the linears'
//     input columns multiplied by s (and up_proj rows divided, down_proj columns multiplied). Each output
//     row of those linears then holds a few weights s times larger than the rest, as trained LLMs' weight
//     rows hold a few large weights: a per-row min/max quantizer spends its range on them, and the small
//     weights, which carry most of the function, fall into a few levels. This is what makes RTN collapse at
//     3 and 2 bits and what clipping (OmniQuant's LWC, GPTQ's error feedback, AWQ's scales) recovers.
#pragma once

#include "harness/model/llama_model.h"

#include <nlohmann/json.hpp>

#include <cstdint>

namespace ptq::tiny {

struct OutlierSpec {
  int hidden_channels = 4;         // activation outliers per norm (the same channels in every layer)
  int intermediate_channels = 4;   // activation outliers per MLP
  int min_log2 = 5, max_log2 = 6;  // factors 2^5 = 32 .. 2^6 = 64
  int weight_hidden_channels = 0;        // heavy weight columns per norm's readers (other channels)
  int weight_intermediate_channels = 0;  // heavy down_proj columns per MLP
  int weight_min_log2 = 2, weight_max_log2 = 3;
  uint64_t seed = 0;
};

// Applies the transforms in place; returns which channels got which factors.
nlohmann::json inject_outliers(LlamaModel& model, const OutlierSpec& spec);

}  // namespace ptq::tiny
