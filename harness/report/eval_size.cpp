#include "harness/report/eval_size.h"

namespace ptq::report {

namespace {

int64_t int_or(const nlohmann::json& j, const char* key, int64_t fallback) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : fallback;
}

EvalSize task_size(const nlohmann::json& details, const std::string& metric, int64_t n) {
  EvalSize s;
  s.docs = n;
  if (!details.is_object()) return s;
  if (details.contains(metric) && details[metric].contains("n_total")) {  // zero-shot: piqa, lambada_openai
    s.docs = int_or(details[metric], "n", n);
    s.total = int_or(details[metric], "n_total", 0);
    return s;
  }
  const std::string suffix = "_ppl";
  if (metric.size() <= suffix.size() || metric.compare(metric.size() - suffix.size(), suffix.size(), suffix) != 0) return s;
  const std::string task = metric.substr(0, metric.size() - suffix.size());
  if (!details.contains(task)) return s;
  const nlohmann::json& d = details[task];
  if (d.contains("nsamples_total")) {  // wikitext2_ppl, c4_ppl
    s.docs = int_or(d, "nsamples", n);
    s.total = int_or(d, "nsamples_total", 0);
    s.segments = true;
  } else if (d.contains("n_total")) {  // lambada_openai_ppl: its documents
    s.docs = int_or(d, "n", n);
    s.total = int_or(d, "n_total", 0);
  }
  return s;
}

}  // namespace

EvalSize eval_size(const nlohmann::json& details, const nlohmann::json& average_tasks, const std::string& metric, int64_t n) {
  if (metric != "zeroshot_avg" || !average_tasks.is_array() || average_tasks.empty()) return task_size(details, metric, n);
  EvalSize sum;  // the average's documents: those of its tasks; unknown when one task's total is
  for (const auto& t : average_tasks) {
    if (!t.is_string()) return {};
    const EvalSize s = task_size(details, t.get<std::string>(), 0);
    if (s.total == 0) return {n, 0, false};
    sum.docs += s.docs;
    sum.total += s.total;
  }
  return sum;
}

}  // namespace ptq::report
