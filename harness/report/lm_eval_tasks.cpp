#include "harness/report/lm_eval_tasks.h"

#include "evaluators/evaluator.h"

#include <map>

namespace ptq::report {

namespace {

nlohmann::json dataset(const char* path, const char* name, const char* split_key, const char* split) {
  nlohmann::json d = {{"dataset_path", path}, {"dataset_name", name ? nlohmann::json(name) : nlohmann::json(nullptr)}};
  d[split_key] = split;
  return d;
}

// Datasets, splits and versions as lm-eval v0.4's task YAMLs (lm_eval/tasks/*) and v0.3's task classes
// (VERSION) declare them. The GPTQ datasets are those GPTQ's datautils.py loads.
std::map<std::string, LmEvalTaskInfo> make_table() {
  const nlohmann::json na = "N/A";
  nlohmann::json c4 = dataset("allenai/c4", nullptr, "validation_split", "validation");
  c4["dataset_kwargs"] = {{"data_files", {{"validation", "en/c4-validation.00000-of-00008.json.gz"}}}};
  const nlohmann::json own = {{"dataset_path", ""}, {"dataset_name", nullptr}, {"test_split", "test"}};
  std::map<std::string, LmEvalTaskInfo> t;
  const auto add = [&](LmEvalTaskInfo info) { t[info.task] = std::move(info); };
  add({"piqa", dataset("piqa", nullptr, "validation_split", "validation"), "multiple_choice", 1.0, 0, true});
  add({"arc_easy", dataset("allenai/ai2_arc", "ARC-Easy", "test_split", "test"), "multiple_choice", 1.0, 0, true});
  add({"arc_challenge", dataset("allenai/ai2_arc", "ARC-Challenge", "test_split", "test"), "multiple_choice", 1.0, 0, true});
  add({"boolq", dataset("super_glue", "boolq", "validation_split", "validation"), "multiple_choice", 2.0, 1, true});
  add({"hellaswag", dataset("hellaswag", nullptr, "validation_split", "validation"), "multiple_choice", 1.0, 0, true});
  add({"winogrande", dataset("winogrande", "winogrande_xl", "validation_split", "validation"), "multiple_choice", 1.0, 0, true});
  add({"lambada_openai", dataset("EleutherAI/lambada_openai", "default", "test_split", "test"), "loglikelihood", 1.0, 0, true});
  add({"wikitext2", dataset("wikitext", "wikitext-2-raw-v1", "test_split", "test"), "loglikelihood_rolling", na, na, false});
  add({"c4", c4, "loglikelihood_rolling", na, na, false});
  add({"c4_new", c4, "loglikelihood_rolling", na, na, false});
  for (const char* own_task : {"text", "jsonl", "tokens"}) add({own_task, own, "loglikelihood_rolling", na, na, false});
  return t;
}

// The registered task producing `metric`, and its kind ("perplexity" | "zero-shot").
const eval::EvaluatorInfo* owner(const std::string& metric) {
  for (const auto& info : eval::evaluators().all())
    for (const auto& m : info.metrics)
      if (m.name == metric) return &info;
  return nullptr;
}

}  // namespace

const LmEvalTaskInfo* lm_eval_task(const std::string& task) {
  static const std::map<std::string, LmEvalTaskInfo> table = make_table();
  const auto it = table.find(task);
  return it == table.end() ? nullptr : &it->second;
}

LmEvalMetric lm_eval_metric_of_key(const std::string& task, const std::string& key) {
  if (key == "token_perplexity") return {task, key, "weighted_perplexity", false, 1};
  if (key == "perplexity") return {task, key, "perplexity", false, 1};
  return {task, key, "mean", true, 100};  // acc, acc_norm, or "" (the reported one of the two)
}

std::optional<LmEvalMetric> lm_eval_metric(const std::string& metric) {
  const eval::EvaluatorInfo* info = owner(metric);
  if (info == nullptr) return std::nullopt;
  const std::string& t = info->name;
  // Equal-length segments: exp(mean over segments of the mean token CE) = exp(total NLL / total tokens),
  // which is lm-eval's weighted_perplexity with tokens as the weights.
  if (info->kind == "perplexity") return lm_eval_metric_of_key(t, "token_perplexity");
  if (metric == t + "_acc") return lm_eval_metric_of_key(t, "acc");
  if (metric == t + "_acc_norm") return lm_eval_metric_of_key(t, "acc_norm");
  if (metric == t + "_ppl") return lm_eval_metric_of_key(t, "perplexity");  // LAMBADA: exp(-mean ll), as lm-eval
  if (metric == t) return lm_eval_metric_of_key(t, "");
  return std::nullopt;
}

}  // namespace ptq::report
