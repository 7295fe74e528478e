// Calibration windows for PTQ methods, drawn exactly as the reference codes' get_loaders(name, nsamples,
// seed, seqlen) (research/eval_protocols.md §1.8):
//   wikitext2  the train split joined like the test split (one BOS), then nsamples times
//              i = randint(0, numel - seqlen - 1), window = ids[i : i + seqlen]   (random.seed(seed))
//   c4         the train shard c4-train.00000-of-01024.json(.gz): document windows as in get_c4
//   text       any UTF-8 file: tokenized once as tokenizer(text), then the wikitext2 rule
//   jsonl      JSON lines, one document per line ("PATH" reads each line's "text", "PATH#FIELD" another
//              field): the c4 rule (a random window of a random document longer than seqlen)
// OmniQuant/LRQuant default: wikitext2, 128 x 2048, seed 2; GPTQ: seed 0.
#pragma once

#include "harness/data/token_cache.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptq {
class Tokenizer;
}

namespace ptq::eval {

struct CalibrationSet {
  at::Tensor windows;            // [n, seqlen] int64
  std::vector<int64_t> starts;   // token offset of each window (in its document for c4)
  std::vector<int64_t> docs;     // document index of each window (c4 only)
  std::string dataset;
  int64_t seed = 0;
  nlohmann::json provenance;     // data/tokenizer hashes, window hash
};

const std::vector<std::string>& calibration_datasets();  // {"wikitext2", "c4"}

// The train file `dataset` reads from `data_path` (file or directory); InputError when absent or unknown.
std::string resolve_calibration_file(const std::string& dataset, const std::string& data_path);

CalibrationSet sample_calibration(const std::string& dataset, const std::string& data_path, const Tokenizer& tokenizer,
                                  int64_t n, int64_t seqlen, int64_t seed, const TokenCache& cache);

// The wikitext2 rule on an already tokenized stream (exposed for tests).
std::vector<int64_t> sample_stream_starts(int64_t stream_len, int64_t n, int64_t seqlen, int64_t seed);

}  // namespace ptq::eval
