// An independent reference for the Llama forward pass, written from the equations with scalar loops in
// double precision, one token at a time with an explicit KV cache. It shares no code with
// harness/model (only reads the weights), so agreement is evidence that both are right.
// Supports default RoPE (no scaling) and biases off, which is what the tests build.
#pragma once

#include "model/llama_model.h"

#include <cstdint>
#include <vector>

namespace ptq::test {

// logits[t][v] for the token sequence `ids`.
std::vector<std::vector<double>> naive_logits(const LlamaModel& model, const std::vector<int64_t>& ids);

// GPTQ-protocol perplexity computed from naive_logits: segments of seqlen, mean CE over seqlen-1
// predictions each, ppl = exp(mean of segment CEs). Scores the first `segments` segments.
struct NaivePpl {
  double ppl, nll;
  int64_t tokens;
};
NaivePpl naive_perplexity(const LlamaModel& model, const std::vector<int64_t>& stream, int64_t seqlen,
                          int64_t segments);

}  // namespace ptq::test
