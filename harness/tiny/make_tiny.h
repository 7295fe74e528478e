// `ptqbench make-tiny`: the embedded default, made from nothing but a seed - corpus, C4-style shards,
// zero-shot task files, a sentencepiece tokenizer, a trained Llama with GQA, and LLaMA-like activation
// outliers and heavy-tailed weights put in by exact equivalence transforms (tiny/outliers.h). Writes
// <out>/models/tiny-llama and <out>/data/tiny with a manifest of SHA-256 hashes and the command that made
// them. The defaults make the committed model: `ptqbench make-tiny --out experiments`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace ptq::tiny {

struct MakeTinyOptions {
  std::string out_dir;
  uint64_t seed = 1;
  int64_t steps = 1000;  // the committed model's
  bool small = false;  // a minute-sized variant (tests): less data, a smaller model
  std::string transforms = "all";  // all | activations (no heavy-tailed weights) | none: the ablations of docs/tiny-llama.md
  std::string trained_cache;  // when set: reuse (or write) the trained weights there, before the transforms
  std::string command;  // recorded in the manifest
};

// Returns the report (also written as models/tiny-llama/make_tiny.json).
nlohmann::json make_tiny(const MakeTinyOptions& options);

// Everything the FP model and its data are measured by, for the report and the tests:
// unigram perplexity of the test split from train-split counts (add-one smoothing).
double unigram_perplexity(const std::vector<int32_t>& train, const std::vector<int32_t>& test, int vocab);

}  // namespace ptq::tiny
