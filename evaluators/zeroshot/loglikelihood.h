// Log-likelihood of continuations given contexts, as lm-evaluation-harness computes it.
//   v0.3 (default; OmniQuant/LRQuant/CBQ tables): context and continuation tokenized separately without
//        BOS (an empty context becomes [eos]); with a Llama tokenizer " yes" is then ['▁', '▁yes'].
//   v0.4: trailing spaces of the context move to the continuation, the pair is tokenized jointly and the
//        continuation is the tokens after those of the context alone (an empty context becomes [bos]).
// Both: input = (context + continuation)[-(max_length + 1):][:-1] (left truncation), right padding with
// token 0 and no attention mask (causal attention makes the padding invisible), ll = sum of log-softmax of
// the continuation tokens, greedy = every continuation token is the argmax.
#pragma once

#include "evaluators/zeroshot/tasks.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace ptq {
class LlamaModel;
class Tokenizer;
}  // namespace ptq

namespace ptq::eval {

enum class LmEvalMode { kV03, kV04 };
LmEvalMode parse_lm_eval_mode(const std::string& name);  // "v0.3" | "v0.4"
const char* lm_eval_mode_name(LmEvalMode mode);

// The semantics a task gets when the user chose none: v0.3 (the papers' tables) for every task except
// lambada_openai, which gets v0.4. Why: v0.3 tokenizes LAMBADA's continuation " word" on its own, and a
// sentencepiece tokenizer with a dummy prefix (Llama 1/2, Mistral) makes it ['▁', '▁word'], a pair that
// never occurs in running text (there the word is '▁word' right after the context). The greedy check then
// fails on the lone '▁' for every document: acc is 0 % by construction and ppl is inflated, silently.
// v0.4 takes the continuation's tokens from the joint encoding of context + continuation, as the model
// reads them. The multiple-choice tasks keep v0.3: every choice carries the same '▁', the argmax decisions
// match lm-eval 0.3 and so the papers' numbers. For byte-level BPE tokenizers (Llama 3, Qwen) " word" is
// one pre-token either way, so v0.4 changes nothing there. A user who asks for v0.3 explicitly gets it,
// with the warning below.
LmEvalMode default_lm_eval_mode(const std::string& task);
// One line for stderr when `task` runs in `mode`: why LAMBADA runs in v0.4 by default (chosen = false), or
// that an explicit v0.3 scores LAMBADA 0 % with sentencepiece tokenizers (chosen = true); "" otherwise.
std::string lm_eval_mode_note(const std::string& task, LmEvalMode mode, bool chosen);

struct EncodedRequest {
  std::vector<int32_t> context, continuation;
};
// Encodes requests in a mode, tokenizing each distinct context once (the choices of a document share it).
class RequestEncoder {
 public:
  RequestEncoder(const Tokenizer& tokenizer, LmEvalMode mode) : tok_(tokenizer), mode_(mode) {}
  EncodedRequest encode(const LoglikRequest& request);

 private:
  const std::vector<int32_t>& context_ids(const std::string& context);
  const Tokenizer& tok_;
  LmEvalMode mode_;
  std::unordered_map<std::string, std::vector<int32_t>> contexts_;
};
EncodedRequest encode_request(const Tokenizer& tokenizer, const LoglikRequest& request, LmEvalMode mode);

struct LoglikResult {
  double ll = 0;
  bool greedy = false;
};

struct ScoreOptions {
  int64_t batch_size = 1;
  int64_t max_length = 0;  // 0: the model's max_position_embeddings (OmniQuant's BaseLM)
  bool progress = true;
  std::string label = "loglikelihood";
  // Each request's document (0-based, requests of a document together or not): progress then counts
  // finished documents, as results report n, with the requests beside them. Empty: progress counts requests.
  std::vector<int64_t> request_doc;
  // A streamed model runs consecutive batches together block by block, each block read once per group;
  // a group's hidden states stay under this many bytes. 0 = a quarter of the GPU's free memory (fewer
  // groups, fewer reads of each block), 2 GiB on the CPU.
  int64_t stream_group_bytes = 0;
};

// Results in the order of `requests`; batching (sorted by decreasing length, like lm-eval) does not
// change them beyond float rounding.
std::vector<LoglikResult> score_loglikelihood(const LlamaModel& model, const std::vector<EncodedRequest>& requests,
                                              const ScoreOptions& options);

}  // namespace ptq::eval
