// The perplexity tasks and how each turns its data file into the token stream that is cut into
// non-overlapping seqlen segments (GPTQ/OmniQuant protocol, research/eval_protocols.md §1):
//   wikitext2  wiki.test.raw, HF rows joined with "\n\n", tokenized once with one BOS
//   c4         256 random windows of the first validation shard, CPython random.seed(0)
//   c4_new     first 1100 documents joined by " ", one BOS, truncated to 256 x seqlen
//   text       any UTF-8 file, tokenized once with one BOS
//   tokens     a .npy file of token ids, used as given
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

struct PplTaskInfo {
  std::string name;
  std::string description;
  bool needs_tokenizer;
};
const std::vector<PplTaskInfo>& ppl_tasks();
// Throws InputError("unknown task ... (expected one of: ...)") for names not in ppl_tasks().
const PplTaskInfo& find_ppl_task(const std::string& name);

struct EvalStream {
  at::Tensor ids;             // 1-D int64
  std::string protocol;       // e.g. "gptq_c4" (the name stored with every result)
  nlohmann::json provenance;  // data/tokenizer/stream hashes, file names, counts
  bool from_cache = false;
  std::vector<std::string> notices;
};

// The file `task` reads when given `data_path` (a file, or a directory with the canonical file names).
// Throws InputError listing what was looked for.
std::string resolve_ppl_data_file(const std::string& task, const std::string& data_path);

// Builds (or reads from the cache) the token stream of `task`. `tokenizer` may be null for "tokens".
EvalStream load_eval_stream(const std::string& task, const std::string& data_path, const Tokenizer* tokenizer,
                            int64_t seqlen, const TokenCache& cache);

// Tokenizes like transformers' tokenizer(text) (Tokenizer::encode_input; for a sentencepiece model the
// slow LlamaTokenizer: [bos] + sp.encode(text)). A sentencepiece model encodes literal special-token
// strings ("<s>", "</s>", "<unk>") as plain text, where HF would emit the special id: the count of such
// strings is reported in `notices`. tokenizer.json / tiktoken tokenizers match them as HF does.
std::vector<int32_t> hf_slow_encode(const Tokenizer& tokenizer, const std::string& text,
                                    std::vector<std::string>* notices, const std::string& source);

}  // namespace ptq::eval
