#include "evaluators/perplexity/perplexity.h"

#include "harness/util/errors.h"
#include "harness/util/progress.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <limits>

namespace ptq::eval {

at::Tensor scored_windows(const at::Tensor& ids, const PplOptions& opt) {
  if (ids.dim() != 1 || opt.seqlen < 2) throw InputError("scored_windows: 1-D ids and seqlen >= 2 expected");
  const int64_t total = ids.numel() / opt.seqlen;
  const int64_t n = opt.limit > 0 ? std::min(opt.limit, total) : total;
  if (n == 0)
    throw InputError(fmt::format("the evaluation stream has {} tokens, fewer than one segment of seqlen {}", ids.numel(),
                                 opt.seqlen));
  return ids.narrow(0, 0, n * opt.seqlen).view({n, opt.seqlen});
}

namespace {

void check_request(const LlamaModel& model, const at::Tensor& ids, const PplOptions& opt) {
  if (ids.dim() != 1) throw std::invalid_argument("evaluate_perplexity: ids must be 1-D");
  if (opt.seqlen < 2) throw InputError(fmt::format("seqlen {} is too short, expected at least 2", opt.seqlen));
  if (opt.batch_size < 1) throw InputError(fmt::format("batch size {} must be at least 1", opt.batch_size));
  const int64_t vocab = model.config().vocab_size;
  if (ids.numel() > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= vocab)
      throw InputError(fmt::format("token ids range over [{}, {}], outside the model's vocabulary of {} (wrong "
                                   "tokenizer for this model?)", lo, hi, vocab));
  }
}

// A streamed model runs block by block over all segments (GPTQ's llama_eval does the same), so that
// each block is read once; the batches, and so the numbers, are those of the resident path. Undefined
// for a resident model (it runs batch by batch).
at::Tensor streamed_hidden(const LlamaModel& model, const at::Tensor& segments, const RopeTables& rope, const PplOptions& opt) {
  if (!model.streamed()) return {};
  Progress blocks_progress(opt.label + " blocks", static_cast<int64_t>(model.num_blocks()), 5.0);
  at::Tensor hidden = model.embed(segments);
  for (size_t i = 0; i < model.num_blocks(); ++i) {
    hidden = model.forward_blocks(hidden, rope, i, i + 1, opt.batch_size);
    if (opt.progress) blocks_progress.update(static_cast<int64_t>(i) + 1);
  }
  return hidden;
}

// ppl = exp(mean segment loss), its delta-method standard error, the token counts.
void summarize_losses(PplResult& r, double loss_sum) {
  const auto n = static_cast<double>(r.nsamples);
  const double mean = loss_sum / n;
  r.ppl = std::exp(mean);
  r.tokens = r.nsamples * (r.seqlen - 1);
  r.nll = mean * static_cast<double>(r.tokens);
  if (r.nsamples > 1) {
    double ss = 0;
    for (const double l : r.segment_loss) ss += (l - mean) * (l - mean);
    r.stderr_ppl = r.ppl * std::sqrt(ss / (n - 1)) / std::sqrt(n);
  } else {
    r.stderr_ppl = std::numeric_limits<double>::quiet_NaN();
  }
}

}  // namespace

PplResult evaluate_perplexity(const LlamaModel& model, const at::Tensor& ids, const PplOptions& opt) {
  c10::InferenceMode inference;
  check_request(model, ids, opt);
  PplResult r;
  r.seqlen = opt.seqlen;
  r.nsamples_total = ids.numel() / opt.seqlen;
  r.nsamples = opt.limit > 0 ? std::min(opt.limit, r.nsamples_total) : r.nsamples_total;
  if (r.nsamples == 0)
    throw InputError(fmt::format("the evaluation stream has {} tokens, fewer than one segment of seqlen {}",
                                 ids.numel(), opt.seqlen));

  const auto start = std::chrono::steady_clock::now();
  const at::Tensor segments = scored_windows(ids, opt).to(model.device());
  const RopeTables rope = model.rope(opt.seqlen);
  const at::Tensor hidden = streamed_hidden(model, segments, rope, opt);
  Progress progress(opt.label, r.nsamples, 5.0);
  double loss_sum = 0;
  for (int64_t first = 0; first < r.nsamples; first += opt.batch_size) {
    const int64_t b = std::min(opt.batch_size, r.nsamples - first);
    const at::Tensor batch = segments.narrow(0, first, b);
    at::Tensor h;
    if (hidden.defined()) {
      h = hidden.narrow(0, first, b);
    } else {
      h = model.embed(batch);
      for (size_t i = 0; i < model.num_blocks(); ++i) h = model.block_forward(i, h, rope);
    }
    at::Tensor logits = model.logits(h);
    // CPU kernels lack half-precision log_softmax in LibTorch 1.13; the fp16 loss of the references is a
    // CUDA-only property anyway.
    if (logits.is_cpu() && logits.scalar_type() != at::kFloat) logits = logits.to(at::kFloat);
    for (int64_t k = 0; k < b; ++k) {
      // Per segment, in the logits' dtype, like `CrossEntropyLoss()(shift_logits, shift_labels).float()`
      // (fp16 logits give an fp16 loss on CUDA, exactly as in the reference runs).
      const at::Tensor loss = at::cross_entropy_loss(logits[k].narrow(0, 0, opt.seqlen - 1),
                                                     batch[k].narrow(0, 1, opt.seqlen - 1));
      const double l = loss.to(at::kFloat).item<double>();
      // Non-finite logits come from the model, not from a bug here: weights let through with
      // --allow-nonfinite, or an fp16 overflow. An input error (exit 2), naming the likely causes.
      if (!std::isfinite(l))
        throw InputError(fmt::format("segment {}: loss is {}: the model's outputs are not finite (weights loaded with "
                                     "--allow-nonfinite, or an fp16 overflow: try --dtype fp32)", first + k, l));
      r.segment_loss.push_back(l);
      loss_sum += l;
    }
    const int64_t done = first + b;
    if (opt.progress) progress.update(done, fmt::format("ppl {:.4f}", std::exp(loss_sum / done)));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summarize_losses(r, loss_sum);
  if (opt.progress)
    progress.finish(fmt::format("ppl {:.4f}, {:.0f} tokens/s", r.ppl, r.nsamples * opt.seqlen / r.seconds));
  return r;
}

}  // namespace ptq::eval
