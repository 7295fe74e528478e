#include "evaluators/perplexity/ppl_evaluator.h"

#include "evaluators/perplexity/perplexity.h"
#include "harness/data/ppl_tasks.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <cmath>

namespace ptq::eval {

namespace {

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// The per-example records of a perplexity run: one per scored segment.
std::vector<nlohmann::json> segment_records(const PplResult& r) {
  std::vector<nlohmann::json> out;
  for (size_t i = 0; i < r.segment_loss.size(); ++i)
    out.push_back({{"segment", i}, {"nll", r.segment_loss[i]}, {"tokens", r.seqlen - 1}});
  return out;
}

class PerplexityEvaluator final : public Evaluator {
 public:
  PerplexityEvaluator(TaskSpec spec, const EvalData& data) : spec_(std::move(spec)) {
    if (find_ppl_task(spec_.task).needs_tokenizer && !data.tokenizer)
      throw InputError(fmt::format("{}: no tokenizer (tokenizer.model or tokenizer.json)", data.model_dir));
    stream_ = load_eval_stream(spec_.task, spec_.data, data.tokenizer, spec_.seqlen, data.cache ? *data.cache : TokenCache(""));
  }

  const TaskSpec& spec() const override { return spec_; }
  std::vector<std::string> notices() const override { return stream_.notices; }
  at::Tensor scored_windows() const override { return eval::scored_windows(stream_.ids, options(false)); }

  TaskResult evaluate(const LlamaModel& model, bool progress) const override {
    const PplResult r = evaluate_perplexity(model, stream_.ids, options(progress));
    TaskResult out;
    out.task = spec_.task;
    out.metrics.push_back({spec_.task + "_ppl", r.ppl, r.stderr_ppl, r.nsamples, /*higher_is_better=*/false});
    out.details = details(r);
    out.samples = segment_records(r);
    out.seconds = r.seconds;
    return out;
  }

 private:
  PplOptions options(bool progress) const {
    PplOptions o;
    o.seqlen = spec_.seqlen;
    o.limit = spec_.limit;
    o.batch_size = spec_.batch_size;
    o.label = spec_.task;
    o.progress = progress;
    return o;
  }

  nlohmann::json details(const PplResult& r) const {
    const nlohmann::json& p = stream_.provenance;
    return {{"protocol", stream_.protocol}, {"seqlen", r.seqlen}, {"ppl", r.ppl}, {"nll", r.nll},
            {"tokens", r.tokens}, {"nsamples", r.nsamples}, {"nsamples_total", r.nsamples_total},
            {"stderr", finite_or_null(r.stderr_ppl)},
            {"limit", spec_.limit > 0 ? nlohmann::json(spec_.limit) : nlohmann::json(nullptr)},
            {"hashes", {{"data_sha256", p.value("data_sha256", nlohmann::json(nullptr))},
                        {"tokenizer_sha256", p.value("tokenizer_sha256", nlohmann::json(nullptr))},
                        {"stream_sha256", p.value("stream_sha256", nlohmann::json(nullptr))}}},
            {"data_file", p.value("data_file", nlohmann::json(nullptr))}, {"stream_tokens", stream_.ids.numel()},
            {"token_cache_hit", stream_.from_cache}, {"seconds", r.seconds},
            {"tokens_per_s", r.nsamples * r.seqlen / r.seconds},
            {"provenance", p}, {"notices", stream_.notices}};
  }

  TaskSpec spec_;
  EvalStream stream_;
};

}  // namespace

std::vector<EvaluatorInfo> perplexity_evaluators() {
  std::vector<EvaluatorInfo> out;
  const auto load = [](const TaskSpec& spec, const EvalData& data) -> std::unique_ptr<Evaluator> {
    return std::make_unique<PerplexityEvaluator>(spec, data);
  };
  for (const PplTaskInfo& t : ppl_tasks())
    out.push_back({t.name, t.description, "perplexity", t.needs_tokenizer, /*reads_directory=*/false,
                   {{t.name + "_ppl", /*higher_is_better=*/false}}, load});
  return out;
}

}  // namespace ptq::eval
