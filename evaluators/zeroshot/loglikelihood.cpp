#include "evaluators/zeroshot/loglikelihood.h"

#include "harness/model/activation_home.h"
#include "harness/model/block_reader.h"

#include "harness/model/llama_model.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "harness/util/progress.h"
#include "harness/util/text.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace ptq::eval {

LmEvalMode parse_lm_eval_mode(const std::string& name) {
  if (name == "v0.3") return LmEvalMode::kV03;
  if (name == "v0.4") return LmEvalMode::kV04;
  throw InputError(fmt::format("--lm-eval-mode {}: expected v0.3 or v0.4", name));
}

const char* lm_eval_mode_name(LmEvalMode mode) { return mode == LmEvalMode::kV03 ? "v0.3" : "v0.4"; }

LmEvalMode default_lm_eval_mode(const std::string& task) {
  return task == "lambada_openai" ? LmEvalMode::kV04 : LmEvalMode::kV03;
}

std::string lm_eval_mode_note(const std::string& task, LmEvalMode mode, bool chosen) {
  if (task != "lambada_openai") return "";
  if (!chosen && mode == LmEvalMode::kV04)
    return "lambada_openai uses lm-eval v0.4 semantics (under v0.3 a sentencepiece tokenizer splits the target "
           "' word' into ['▁', '▁word'] and acc is 0 %); --lm-eval-mode v0.3 forces v0.3";
  if (chosen && mode == LmEvalMode::kV03)
    return "lambada_openai under lm-eval v0.3 semantics: with a sentencepiece tokenizer (Llama 1/2, Mistral) the "
           "target ' word' is tokenized as ['▁', '▁word'], no greedy match is possible and acc is 0 %; drop "
           "--lm-eval-mode or use v0.4";
  return "";
}

const std::vector<int32_t>& RequestEncoder::context_ids(const std::string& context) {
  auto it = contexts_.find(context);
  if (it == contexts_.end()) it = contexts_.emplace(context, tok_.encode(context)).first;
  return it->second;
}

EncodedRequest RequestEncoder::encode(const LoglikRequest& r) {
  EncodedRequest e;
  if (r.context.empty()) {  // v0.3: [eot] = [eos]; v0.4: prefix_token_id = [bos], or [eot] without a BOS (Qwen)
    e.context = {mode_ == LmEvalMode::kV03 || tok_.bos_id() < 0 ? tok_.eos_id() : tok_.bos_id()};
    e.continuation = tok_.encode(r.continuation);
    return e;
  }
  if (mode_ == LmEvalMode::kV03) {
    e.context = context_ids(r.context);
    e.continuation = tok_.encode(r.continuation);
    return e;
  }
  // v0.4 _encode_pair: n_spaces = len(context) - len(context.rstrip()) move to the continuation, then
  // continuation = encode(context + continuation)[len(encode(context)):].
  const std::string context = python_rstrip(r.context);
  const std::string continuation = r.context.substr(context.size()) + r.continuation;
  const auto whole = tok_.encode(context + continuation);
  e.context = context_ids(context);
  const size_t n = std::min(e.context.size(), whole.size());
  e.continuation.assign(whole.begin() + static_cast<std::ptrdiff_t>(n), whole.end());
  return e;
}

EncodedRequest encode_request(const Tokenizer& tok, const LoglikRequest& r, LmEvalMode mode) {
  return RequestEncoder(tok, mode).encode(r);
}

namespace {

// Finished documents for progress lines: a document is done when its last request is scored (requests
// run longest first, so documents finish out of order).
class DocCounter {
 public:
  DocCounter(const std::vector<int64_t>& request_doc, size_t requests) : request_doc_(request_doc), requests_(requests) {
    if (request_doc_.empty()) return;
    for (const int64_t d : request_doc_) {
      if (static_cast<size_t>(d) >= remaining_.size()) remaining_.resize(static_cast<size_t>(d) + 1, 0);
      ++remaining_[static_cast<size_t>(d)];
    }
  }
  int64_t total() const { return static_cast<int64_t>(request_doc_.empty() ? requests_ : remaining_.size()); }
  void scored(size_t request) {
    if (request_doc_.empty()) ++done_;
    else if (--remaining_[static_cast<size_t>(request_doc_[request])] == 0) ++done_;
  }
  int64_t done() const { return done_; }
  std::string detail(size_t requests_done) const {
    return request_doc_.empty() ? "" : fmt::format("documents ({}/{} requests)", requests_done, requests_);
  }

 private:
  const std::vector<int64_t>& request_doc_;
  size_t requests_;
  std::vector<int64_t> remaining_;
  int64_t done_ = 0;
};

}  // namespace

std::vector<LoglikResult> score_loglikelihood(const LlamaModel& model, const std::vector<EncodedRequest>& requests,
                                              const ScoreOptions& opt) {
  c10::InferenceMode guard;
  const int64_t max_length = opt.max_length > 0 ? opt.max_length : model.config().max_position_embeddings;
  if (opt.batch_size < 1) throw InputError(fmt::format("batch size {} must be at least 1", opt.batch_size));
  const int64_t vocab = model.config().vocab_size;

  // Model inputs: the last max_length + 1 tokens of context + continuation, without the last one.
  struct Item {
    std::vector<int64_t> input;
    const std::vector<int32_t>* continuation;
  };
  std::vector<Item> items(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (static_cast<int64_t>(r.continuation.size()) > max_length)
      throw InputError(fmt::format("a continuation of {} tokens exceeds the model's max length {}", r.continuation.size(),
                                   max_length));
    std::vector<int64_t> full(r.context.begin(), r.context.end());
    full.insert(full.end(), r.continuation.begin(), r.continuation.end());
    for (const auto id : full)
      if (id < 0 || id >= vocab)
        throw InputError(fmt::format("token id {} is outside the model's vocabulary of {} (wrong tokenizer?)", id, vocab));
    const size_t keep = std::min(full.size(), static_cast<size_t>(max_length + 1));
    items[i].input.assign(full.end() - static_cast<std::ptrdiff_t>(keep), full.end() - 1);
    items[i].continuation = &r.continuation;
  }
  // Longest first (lm-eval's order): batches hold inputs of similar length, the first batch shows the
  // peak memory at once.
  std::vector<size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const size_t la = requests[a].context.size() + requests[a].continuation.size();
    const size_t lb = requests[b].context.size() + requests[b].continuation.size();
    return la > lb;
  });

  std::vector<LoglikResult> results(items.size());
  DocCounter docs(opt.request_doc, items.size());
  Progress progress(opt.label, docs.total(), 5.0);
  struct Batch {
    size_t first, size;
    at::Tensor hidden;
    RopeTables rope;
  };
  const auto make_batch = [&](size_t first) {
    const size_t b = std::min(static_cast<size_t>(opt.batch_size), order.size() - first);
    int64_t padded = 1;
    for (size_t k = 0; k < b; ++k) padded = std::max<int64_t>(padded, items[order[first + k]].input.size());
    at::Tensor ids = at::zeros({static_cast<int64_t>(b), padded}, at::kLong);  // right padding with token 0
    for (size_t k = 0; k < b; ++k) {
      const auto& in = items[order[first + k]].input;
      if (!in.empty()) ids[k].narrow(0, 0, in.size()).copy_(at::tensor(in, at::kLong));
    }
    return Batch{first, b, model.embed(ids.to(model.device())), model.rope(padded)};
  };
  const auto score_batch = [&](const Batch& batch) {
    for (size_t k = 0; k < batch.size; ++k) {
      const Item& item = items[order[batch.first + k]];
      const auto& cont = *item.continuation;
      LoglikResult& res = results[order[batch.first + k]];
      if (cont.empty()) {
        res = {0.0, true};
        continue;
      }
      const int64_t inplen = static_cast<int64_t>(item.input.size()), contlen = static_cast<int64_t>(cont.size());
      // Only the positions that predict continuation tokens go through the head.
      const at::Tensor logp =
          at::log_softmax(model.logits(batch.hidden[k].narrow(0, inplen - contlen, contlen)).to(at::kFloat), -1).cpu();
      const at::Tensor target = at::tensor(std::vector<int64_t>(cont.begin(), cont.end()), at::kLong);
      res.ll = logp.gather(1, target.unsqueeze(1)).sum().item<double>();
      res.greedy = logp.argmax(-1).equal(target);
    }
  };
  const int64_t group_bytes = opt.stream_group_bytes > 0 ? opt.stream_group_bytes
                              : model.device().is_cuda() ? free_device_bytes(model.device()) / 4
                                                         : int64_t{2} << 30;
  for (size_t first = 0; first < order.size();) {
    // One batch at a time; a streamed model takes a group of batches through each block it reads.
    std::vector<Batch> group;
    int64_t bytes = 0;
    do {
      group.push_back(make_batch(first));
      first += group.back().size;
      bytes += group.back().hidden.numel() * group.back().hidden.element_size();
    } while (model.streamed() && first < order.size() && bytes < group_bytes);
    BlockReader reader(model, 0, model.num_blocks());
    for (size_t i = 0; i < model.num_blocks(); ++i) {
      const DecoderBlock block = reader.next();
      const ActivationHook* aq = model.activation_hook(i).get();
      for (Batch& batch : group) batch.hidden = decoder_block_forward(block, model.config(), batch.hidden, batch.rope, aq);
    }
    for (const Batch& batch : group) {
      score_batch(batch);
      for (size_t k = 0; k < batch.size; ++k) docs.scored(order[batch.first + k]);
    }
    if (opt.progress) progress.update(docs.done(), docs.detail(first));
  }
  if (opt.progress) progress.finish(docs.detail(order.size()));
  return results;
}

}  // namespace ptq::eval
