// The per-example values of each metric, derived from a run's per-example logs
// (evaluators/sample_log.h), which `ptqbench regress` pairs across runs.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ptq::store {

// One metric's per-example values: "binary" (an accuracy: 1 right, 0 wrong) or "nll" (a perplexity:
// the example's mean NLL, ppl = exp(mean)); ids name the examples (document or segment index).
struct MetricSamples {
  std::string kind;
  std::vector<int64_t> ids;
  std::vector<double> values;
  nlohmann::json to_json() const;
  // InputError naming `where` for anything but {"kind", "ids", "values"} of equal lengths.
  static MetricSamples from_json(const nlohmann::json& j, const std::string& where);
};

// The metrics a task's records carry, by the names results use: "<task>_ppl" for perplexity;
// "<task>" (the reported metric), "<task>_acc", "<task>_acc_norm" and LAMBADA's "<task>_ppl" for zero-shot.
std::map<std::string, MetricSamples> metric_samples_of_task(const std::string& task, const std::string& reported_metric,
                                                            const std::vector<nlohmann::json>& records);

}  // namespace ptq::store
