// Training a small Llama from scratch on a token stream (for the embedded default model): random
// windows, next-token cross-entropy, AdamW with linear warm-up and cosine decay, gradient clipping,
// everything seeded so that the same inputs give the same weights on the same machine.
#pragma once

#include "harness/model/llama_model.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ptq::tiny {

struct TrainConfig {
  int64_t steps = 1000;
  int64_t batch = 8;
  int64_t seqlen = 512;
  double lr = 3e-3;           // peak
  double min_lr_ratio = 0.1;  // cosine decays to lr * min_lr_ratio
  int64_t warmup = 40;
  double weight_decay = 0.1;  // on linear weights only (not norms or embeddings)
  double beta1 = 0.9, beta2 = 0.95;
  double clip = 1.0;
  uint64_t seed = 0;
};

struct TrainReport {
  std::vector<double> losses;  // one per step
  double seconds = 0;
};

// GPT-2 style initialisation: N(0, 0.02), residual output projections scaled by 1/sqrt(2 * layers), norms 1.
LlamaModel init_llama(const LlamaConfig& config, uint64_t seed);
// Trains in place on `ids` (1-D int64); shows progress.
TrainReport train_lm(LlamaModel& model, const at::Tensor& ids, const TrainConfig& config);

}  // namespace ptq::tiny
