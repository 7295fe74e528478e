// Import of llama2.c checkpoints (karpathy/llama2.c "version 0" .bin files, e.g. the tinyllamas
// stories15M/42M/110M/260K models) into a Hugging Face checkpoint directory, so that small real models
// can be used with the harness. llama2.c rotates interleaved pairs (2i, 2i+1) in RoPE, HF rotates
// (i, i + d/2); q/k rows are permuted per head as transformers' convert_llama_weights_to_hf.py does.
#pragma once

#include "harness/model/llama_model.h"

#include <string>

namespace ptq {

// Reads the .bin (InputError on a malformed or truncated file).
LlamaModel import_llama2c(const std::string& bin_path, double rms_norm_eps = 1e-5);

}  // namespace ptq
