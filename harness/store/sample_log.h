// Per-example logs (lm-eval's --log_samples): one gzip'd JSON-lines file per task of a run,
//   zero-shot:  {"doc", "gold", "ll": [per choice], "greedy": [per choice], "pred", "acc", ["pred_norm", "acc_norm"]}
//   perplexity: {"segment", "nll" (mean token NLL of the segment, nats), "tokens"}
// and the per-example values of each metric derived from them, which `ptqbench regress` pairs across
// runs. A log's SHA-256 (of the uncompressed lines) goes into the result, so that a log that does not
// belong to its result is caught when it is read.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ptq::eval {
struct ZeroShotResult;
struct PplResult;
}  // namespace ptq::eval

namespace ptq::store {

std::vector<nlohmann::json> zeroshot_sample_records(const eval::ZeroShotResult& result);
std::vector<nlohmann::json> perplexity_sample_records(const eval::PplResult& result);

// Writes <dir>/<task>.jsonl.gz atomically; returns {"file": "<task>.jsonl.gz", "sha256", "records"}.
nlohmann::json write_sample_log(const std::string& dir, const std::string& task, const std::vector<nlohmann::json>& records);
// Reads a log; InputError naming the file when it is unreadable or its SHA-256 is not `expected_sha256`.
std::vector<nlohmann::json> read_sample_log(const std::string& path, const std::string& expected_sha256);

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
