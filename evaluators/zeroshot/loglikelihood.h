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
