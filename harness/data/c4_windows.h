// The random document windows of GPTQ/OmniQuant's get_c4, drawn with the CPython RNG port:
//   random.seed(seed)
//   repeat n times:
//     repeat: i = randint(0, len(docs) - 1); ids = tokenizer(docs[i]) (with BOS)  until len(ids) >= seqlen
//     j = randint(0, len(ids) - seqlen - 1); window = ids[j : j + seqlen]
// Evaluation uses seed 0 and n = 256 on the validation shard; calibration uses the run's seed on the
// train shard. Which documents qualify depends on the tokenizer, so the picks are tokenizer-specific.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ptq::eval {

struct DocWindow {
  int64_t doc = 0;    // index into the document list
  int64_t start = 0;  // first token of the window within the tokenized document (BOS at 0)
  std::vector<int32_t> ids;
};

using TokenizeWithBos = std::function<std::vector<int32_t>(const std::string&)>;

// Throws InputError when the reference code would fail too (a qualifying document with exactly seqlen
// tokens makes Python's randint raise) or when too few documents are long enough to ever qualify.
std::vector<DocWindow> sample_doc_windows(const std::vector<std::string>& docs, const TokenizeWithBos& tokenize,
                                          int64_t n, int64_t seqlen, int64_t seed);

}  // namespace ptq::eval
