// Small Llama models with random weights, written as real HF checkpoint directories by the tests.
#pragma once

#include "harness/model/llama_model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ptq::test {

struct TinyShape {
  int64_t hidden = 64, intermediate = 96, layers = 2, heads = 4, kv_heads = 2, vocab = 97, max_pos = 128;
  bool tied = false;
};

LlamaConfig tiny_config(const TinyShape& shape = {});
// Weights ~ N(0, 0.1) (embeddings N(0, 1)), norms 1 + N(0, 0.1): large enough that every part of the
// forward pass changes the logits. The config's optional parts too (biases N(0, 0.1), qwen3's q/k norms).
LlamaModel random_model(const LlamaConfig& config, uint64_t seed);
// random_model + save_llama(dir, fp32). Returns the model that was written.
LlamaModel write_random_checkpoint(const std::string& dir, const LlamaConfig& config, uint64_t seed);

// A token file for the `tokens` task: ids (i * step + offset) % 97 (the tiny vocabulary) for i < count,
// written as .npy at `path`. Returns the ids.
std::vector<int64_t> write_token_ids(const std::string& path, int64_t count, int64_t step, int64_t offset);

// A deep copy: every tensor cloned (tied embeddings stay tied), so a method can quantize it in place.
LlamaModel copy_model(const LlamaModel& m);
// The hidden state after the last block (no final norm) on `ids`, without gradients.
at::Tensor last_hidden(const LlamaModel& m, const at::Tensor& ids);
// The tensor block i's activation hook saves as its learned clipping (kActClipTensor); undefined if none.
at::Tensor saved_act_clip(const LlamaModel& m, size_t i);
// Random token ids [n, t] below `vocab`, from the global generator.
at::Tensor calibration_ids(int64_t n, int64_t t, int64_t vocab);

}  // namespace ptq::test
