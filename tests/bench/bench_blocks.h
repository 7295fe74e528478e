// LLaMA-7B-shaped decoder blocks with random weights, shared by the benchmarks.
#pragma once

#include "model/llama_model.h"

namespace ptq::bench {

// hidden 4096, intermediate 11008, 32 heads (no GQA), one layer.
LlamaConfig llama7b_block_config();
// Weights ~ N(0, 0.02), norms 1, fp32.
DecoderBlock random_block(const LlamaConfig& c);

}  // namespace ptq::bench
