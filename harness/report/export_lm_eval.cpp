#include "harness/report/export_lm_eval.h"

#include "evaluators/evaluator.h"
#include "evaluators/zeroshot/tasks.h"
#include "harness/report/lm_eval_tasks.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <regex>

namespace ptq::report {

namespace {

using json = nlohmann::json;

// One task's part of the document, gathered from the cell's metrics.
struct TaskOut {
  std::string task;
  json results = json::object();      // "<metric>,none" and "<metric>_stderr,none"
  json higher = json::object();       // metric -> higher_is_better
  json metric_list = json::array();   // the config's metric_list
  std::optional<int64_t> n;           // documents or segments scored
};

const json& member(const json& j, const char* key) {
  static const json null;
  return j.is_object() && j.contains(key) ? j[key] : null;
}

TaskOut& entry(std::vector<TaskOut>& tasks, const std::string& task) {
  for (auto& t : tasks)
    if (t.task == task) return t;
  tasks.emplace_back();
  tasks.back().task = task;
  return tasks.back();
}

void add_metric(TaskOut& out, const LmEvalMetric& lm, const ExportMetric& m) {
  if (out.results.contains(lm.key + ",none")) return;
  // lm-eval writes an unknown stderr as "N/A"; a non-finite value (a diverged perplexity) as JSON null.
  out.results[lm.key + ",none"] = std::isfinite(m.value) ? json(m.value / lm.divisor) : json(nullptr);
  out.results[lm.key + "_stderr,none"] = std::isfinite(m.stderr_value) ? json(m.stderr_value / lm.divisor) : json("N/A");
  const bool hib = m.higher_is_better.value_or(lm.higher_is_better);
  out.higher[lm.key] = hib;
  out.metric_list.push_back({{"metric", lm.key}, {"aggregation", lm.aggregation}, {"higher_is_better", hib}});
  if (!out.n) out.n = m.n;
}

// acc or acc_norm: what the cell reported as the task's headline metric.
std::string reported_key(const ExportCell& c, const std::string& task) {
  const json& d = member(c.details(task), "reported_metric");
  if (d.is_string() && !d.get<std::string>().empty()) return d.get<std::string>();
  const json& s = member(c.task_spec(task), "metric");
  if (s.is_string() && !s.get<std::string>().empty()) return s.get<std::string>();
  const eval::ZeroShotTaskInfo* z = eval::find_zeroshot_task(task);
  return z != nullptr ? z->reported_metric : "acc";
}

// The specific metrics (piqa_acc, piqa_acc_norm) first; a task's reported metric (piqa) fills in only
// what they did not give (results written without the details).
std::vector<TaskOut> collect_tasks(const ExportCell& c) {
  std::vector<TaskOut> tasks;
  std::vector<std::pair<LmEvalMetric, const ExportMetric*>> reported;
  for (const auto& m : c.metrics) {
    const auto lm = lm_eval_metric(m.name);
    if (!lm) continue;
    TaskOut& out = entry(tasks, lm->task);
    if (lm->key.empty()) reported.emplace_back(*lm, &m);
    else add_metric(out, *lm, m);
  }
  for (auto& [lm, m] : reported) add_metric(entry(tasks, lm.task), lm_eval_metric_of_key(lm.task, reported_key(c, lm.task)), *m);
  return tasks;
}

std::string lm_eval_mode(const ExportCell& c, const std::string& task) {
  for (const json* j : {&member(c.task_spec(task), "lm_eval_mode"), &member(c.details(task), "lm_eval_mode")})
    if (j->is_string()) return j->get<std::string>();
  return "";
}

json task_version(const ExportCell& c, const std::string& task) {
  const LmEvalTaskInfo* info = lm_eval_task(task);
  const std::string mode = lm_eval_mode(c, task);
  if (info == nullptr || !info->lm_eval_task) return "N/A";
  if (mode == "v0.4") return info->version_v04;
  if (mode == "v0.3") return info->version_v03;
  return "N/A";  // a result that does not say which semantics it followed
}

bool is_perplexity_task(const std::string& task) {
  const eval::EvaluatorInfo* info = eval::evaluators().find(task);
  return info != nullptr && info->kind == "perplexity";
}

json task_config(const ExportCell& c, const TaskOut& t) {
  json cfg = {{"task", t.task}};
  const LmEvalTaskInfo* info = lm_eval_task(t.task);
  if (info != nullptr) {
    cfg.update(info->dataset);
    if (cfg["dataset_path"] == "") cfg["dataset_path"] = member(c.task_spec(t.task), "data");
    cfg["output_type"] = info->output_type;
  }
  if (info != nullptr && info->lm_eval_task) {  // lm-eval's defaults, which ptqbench's prompts follow
    cfg["description"] = "";
    cfg["target_delimiter"] = " ";
    cfg["fewshot_delimiter"] = "\n\n";
  }
  cfg["num_fewshot"] = 0;
  cfg["metric_list"] = t.metric_list;
  cfg["repeats"] = 1;
  cfg["metadata"] = {{"version", task_version(c, t.task)}};
  return cfg;
}

json n_samples(const ExportCell& c, const TaskOut& t) {
  const int64_t effective = t.n.value_or(0);
  ExportMetric probe;  // the metric whose details say how much data the task has
  probe.name = is_perplexity_task(t.task) ? t.task + "_ppl" : t.task;
  probe.n = effective;
  const int64_t total = c.size(probe).total;
  // Without a recorded total, a run without --limit scored all of it; a limited one does not say.
  const json original = total > 0 ? json(total) : c.limit_of(t.task) == 0 ? json(effective) : json(nullptr);
  return {{"original", original}, {"effective", effective}};
}

// One value when every task has the same (lm-eval has one batch size and one limit per run), else null.
json uniform(const json& evaluators, const char* key, bool zero_is_null) {
  json v;
  bool first = true;
  for (const auto& e : evaluators.is_array() ? evaluators : json::array()) {
    json x = member(e, key);
    if (zero_is_null && x == 0) x = nullptr;
    if (!first && x != v) return nullptr;
    v = x;
    first = false;
  }
  return v;
}

json run_config(const ExportCell& c) {
  const json& cell = member(c.result, "cell");
  const json& path = member(member(cell, "model"), "path");
  const json& dtype = member(member(c.result, "provenance"), "dtype");
  std::string args = fmt::format("pretrained={},dtype={},ptq_setting={},ptq_method={}", path.is_string() ? path.get<std::string>() : c.model,
                                 dtype.is_string() ? dtype.get<std::string>() : "auto", c.setting, c.label);
  if (c.seed) args += fmt::format(",calib_seed={}", *c.seed);
  const json& evaluators = member(cell, "evaluators");
  return {{"model", "ptqbench"},        {"model_args", args},
          {"model_dtype", dtype},       {"batch_size", uniform(evaluators, "batch_size", false)},
          {"batch_sizes", json::array()}, {"device", member(member(cell, "runtime"), "device")},
          {"use_cache", nullptr},       {"limit", uniform(evaluators, "limit", true)},
          // ptqbench never bootstraps: stderr of means as lm-eval computes them, of LAMBADA's perplexity by the delta method
          {"bootstrap_iters", 0},       {"gen_kwargs", nullptr},
          {"random_seed", nullptr},     {"numpy_seed", nullptr},
          {"torch_seed", nullptr},      {"fewshot_seed", nullptr}};
}

// ptqbench's facts about each task that lm-eval's keys do not hold.
json task_notes(const ExportCell& c, const TaskOut& t) {
  const json& spec = c.task_spec(t.task);
  const bool ppl = is_perplexity_task(t.task);
  json n = {{"unit", ppl ? "segments" : "documents"}, {"limit", c.limit_of(t.task)}};
  if (!ppl) n["reported_metric"] = reported_key(c, t.task);
  const std::string mode = lm_eval_mode(c, t.task);
  if (!ppl) n["lm_eval_mode"] = mode.empty() ? json(nullptr) : json(mode);
  const json& protocol = member(c.details(t.task), "protocol");
  if (!protocol.is_null()) n["protocol"] = protocol;
  for (const char* k : {"seqlen", "data", "files"})
    if (!member(spec, k).is_null() && (ppl || std::string(k) != "seqlen")) n[k] = spec[k];
  return n;
}

json ptqbench_block(const ExportCell& c, const std::vector<TaskOut>& tasks) {
  const json& cell = member(c.result, "cell");
  json b = {{"export_format", 1},   {"run_id", c.run_id},         {"experiment", c.experiment},
            {"model", member(cell, "model")}, {"setting", c.setting}, {"method", c.method},
            {"label", c.label},     {"paper_method", c.paper_method}, {"method_config", member(cell, "config")},
            {"calibration", member(cell, "calibration")}, {"tasks", json::object()}};
  bool any_ppl = false;
  for (const auto& t : tasks) {
    b["tasks"][t.task] = task_notes(c, t);
    any_ppl = any_ppl || is_perplexity_task(t.task);
  }
  if (any_ppl)
    b["token_perplexity"] =
        "GPTQ/OmniQuant protocol: the data tokenized once, cut into segments of seqlen tokens, exp of the mean "
        "cross-entropy per predicted token; not lm-eval's word_perplexity (per word, rolling windows per document)";
  if (const ExportMetric* avg = c.metric(eval::kZeroShotAverage))
    b["zeroshot_avg"] = {{"value", std::isfinite(avg->value) ? json(avg->value / 100) : json(nullptr)},
                         {"tasks", member(cell, "zeroshot_average")},
                         {"definition", "unweighted mean of each task's reported metric (acc or acc_norm), as a fraction"}};
  for (const char* k : {"timing", "memory", "provenance"}) b[k] = member(c.result, k);
  return b;
}

// "2026-01-02T03:04:05Z" -> seconds since the epoch (lm-eval's "date" is time.time()); null otherwise.
json epoch_seconds(const json& iso) {
  if (!iso.is_string()) return nullptr;
  std::tm tm{};
  if (std::sscanf(iso.get<std::string>().c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return nullptr;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm));
}

std::string eval_seconds(const ExportCell& c) {
  double s = 0;
  for (const auto& [task, v] : member(member(c.result, "timing"), "eval_s").items())
    if (v.is_number()) s += v.get<double>();
  return fmt::format("{}", s);
}

}  // namespace

json lm_eval_document(const ExportCell& c) {
  const std::vector<TaskOut> tasks = collect_tasks(c);
  json doc = {{"results", json::object()}, {"group_subtasks", json::object()}, {"configs", json::object()},
              {"versions", json::object()}, {"n-shot", json::object()}, {"higher_is_better", json::object()},
              {"n-samples", json::object()}};
  for (const auto& t : tasks) {
    json r = t.results;
    r["alias"] = t.task;
    doc["results"][t.task] = r;
    doc["group_subtasks"][t.task] = json::array();
    doc["configs"][t.task] = task_config(c, t);
    doc["versions"][t.task] = task_version(c, t.task);
    doc["n-shot"][t.task] = 0;
    doc["higher_is_better"][t.task] = t.higher;
    doc["n-samples"][t.task] = n_samples(c, t);
  }
  doc["config"] = run_config(c);
  const json& provenance = member(c.result, "provenance");
  doc["git_hash"] = member(member(provenance, "environment"), "git_sha");
  doc["date"] = epoch_seconds(member(provenance, "started"));
  doc["model_source"] = "ptqbench";
  doc["model_name"] = lm_eval_model_name(c);
  doc["model_name_sanitized"] = lm_eval_sanitize(lm_eval_model_name(c));
  doc["total_evaluation_time_seconds"] = eval_seconds(c);
  doc["task_hashes"] = json::object();
  doc["ptqbench"] = ptqbench_block(c, tasks);
  return doc;
}

std::vector<std::string> lm_eval_paths(const std::vector<ExportCell>& cells) {
  std::map<std::string, int> uses;
  for (const auto& c : cells) ++uses[lm_eval_sanitize(lm_eval_model_name(c))];
  std::vector<std::string> paths;
  for (const auto& c : cells) {
    std::string dir = lm_eval_sanitize(lm_eval_model_name(c));
    if (uses[dir] > 1) dir += "__" + c.run_id;
    const json& prov = member(c.result, "provenance");
    const json& when = member(prov, "finished").is_string() ? member(prov, "finished") : member(prov, "started");
    std::string date = when.is_string() ? when.get<std::string>() : c.run_id;
    for (char& ch : date)
      if (ch == ':') ch = '-';
    paths.push_back(dir + "/results_" + date + ".json");
  }
  return paths;
}

std::string lm_eval_model_name(const ExportCell& c) {
  std::string name = fmt::format("{}/{}/{}/{}", c.experiment, c.model, c.setting, c.label);
  if (c.seed) name += fmt::format("/seed{}", *c.seed);
  return name;
}

std::string lm_eval_sanitize(const std::string& model_name) {
  static const std::regex unsafe(R"re(["<>:/|\\?*\[\]]+)re");
  return std::regex_replace(model_name, unsafe, "__");
}

}  // namespace ptq::report
