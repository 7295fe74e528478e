#include "evaluators/zeroshot/zeroshot_evaluator.h"

#include "evaluators/zeroshot/zeroshot.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

namespace ptq::eval {

namespace {

MetricValue percent(const std::string& name, const Metric& m, int64_t n) {
  return {name, 100 * m.value, 100 * m.stderr_value, n, /*higher_is_better=*/true};
}

class ZeroShotEvaluator final : public Evaluator {
 public:
  ZeroShotEvaluator(TaskSpec spec, const EvalData& data)
      : spec_(std::move(spec)), mode_(parse_lm_eval_mode(spec_.lm_eval_mode)), tokenizer_(data.tokenizer) {
    if (!tokenizer_) throw InputError(fmt::format("{}: no tokenizer (tokenizer.model or tokenizer.json)", data.model_dir));
    task_ = load_zeroshot_task(spec_.task, spec_.data);
  }

  const TaskSpec& spec() const override { return spec_; }

  TaskResult evaluate(const LlamaModel& model, bool progress) const override {
    ZeroShotOptions o;
    o.mode = mode_;
    o.limit = spec_.limit;
    o.batch_size = spec_.batch_size;
    o.reported_metric = spec_.reported_metric;
    o.progress = progress;
    const ZeroShotResult r = evaluate_zeroshot(model, *tokenizer_, task_, o);
    TaskResult out;
    out.task = spec_.task;
    const Metric& main = r.reported_metric == "acc_norm" ? *r.acc_norm : r.acc;
    out.metrics.push_back(percent(spec_.task, main, r.n));
    out.metrics.push_back(percent(spec_.task + "_acc", r.acc, r.n));
    if (r.acc_norm) out.metrics.push_back(percent(spec_.task + "_acc_norm", *r.acc_norm, r.n));
    if (r.ppl) out.metrics.push_back({spec_.task + "_ppl", r.ppl->value, r.ppl->stderr_value, r.n, /*higher_is_better=*/false});
    out.details = r.to_json();
    out.details["lm_eval_mode"] = lm_eval_mode_name(mode_);
    for (const auto& d : r.docs) out.samples.push_back(d.to_json());
    out.reported_fraction = r.reported_value;
    out.seconds = r.seconds;
    return out;
  }

 private:
  TaskSpec spec_;
  LmEvalMode mode_;
  const Tokenizer* tokenizer_;
  LoadedTask task_;
};

}  // namespace

std::vector<EvaluatorInfo> zeroshot_evaluators() {
  std::vector<EvaluatorInfo> out;
  const auto load = [](const TaskSpec& spec, const EvalData& data) -> std::unique_ptr<Evaluator> {
    return std::make_unique<ZeroShotEvaluator>(spec, data);
  };
  for (const ZeroShotTaskInfo& t : zeroshot_tasks()) {
    std::vector<MetricInfo> metrics = {{t.name, true}, {t.name + "_acc", true}};
    if (t.has_acc_norm) metrics.push_back({t.name + "_acc_norm", true});
    if (t.decision == Decision::kGreedy) metrics.push_back({t.name + "_ppl", /*higher_is_better=*/false});  // LAMBADA
    out.push_back({t.name, t.description, "zero-shot", /*needs_tokenizer=*/true, /*reads_directory=*/true, metrics, load});
  }
  return out;
}

}  // namespace ptq::eval
