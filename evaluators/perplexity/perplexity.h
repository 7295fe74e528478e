// Perplexity with the GPTQ/OmniQuant protocol: the token stream is cut into nsamples = numel // seqlen
// non-overlapping segments (the tail is dropped, no context carries over), each segment's loss is the mean
// cross-entropy of its seqlen-1 next-token predictions, and ppl = exp(mean over segments of the loss).
// `limit` scores the first `limit` segments and averages over those (OmniQuant's --limit divides by all
// segments, which under-reports ppl; we do not copy that).
#pragma once

#include "harness/model/llama_model.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ptq::eval {

struct PplOptions {
  int64_t seqlen = 2048;
  int64_t limit = 0;       // 0: all segments
  int64_t batch_size = 1;  // segments per forward pass; results do not depend on it
  std::string label = "ppl";
  bool progress = true;
};

struct PplResult {
  double ppl = 0;
  double nll = 0;               // sum of token NLLs (nats) over all predicted tokens
  double stderr_ppl = 0;        // delta method over segment losses: ppl * sd(loss_i) / sqrt(n); NaN if n < 2
  int64_t tokens = 0;           // predicted tokens = nsamples * (seqlen - 1)
  int64_t nsamples = 0;         // segments scored
  int64_t nsamples_total = 0;   // numel // seqlen
  int64_t seqlen = 0;
  double seconds = 0;
  std::vector<double> segment_loss;  // mean CE of each scored segment
};

// The [n, seqlen] windows evaluate_perplexity scores for these options (n = numel // seqlen, or limit):
// what an evaluation-time adaptation may see. InputError as evaluate_perplexity for a too-short stream.
at::Tensor scored_windows(const at::Tensor& ids, const PplOptions& opt);

// `ids` is 1-D int64 on any device. Every id must be < the model's vocab size (InputError otherwise).
PplResult evaluate_perplexity(const LlamaModel& model, const at::Tensor& ids, const PplOptions& options);

}  // namespace ptq::eval
