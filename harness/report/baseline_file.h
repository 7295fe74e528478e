// Stored regression baselines: results/baselines/NAME.json (the metrics, with standard errors, sizes and
// the numerics that produced them) and NAME.samples.json.gz beside it (every metric's per-example
// values, for paired tests; its SHA-256 is in NAME.json). Format 1 (values only) is still read.
#pragma once

#include "harness/store/sample_log.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ptq::store {
class ResultsDb;
}

namespace ptq::report {

struct Tolerance {
  double ppl_rel = 0.01;
  double acc_abs = 1.0;
};

struct Baseline {
  std::string path, experiment;
  std::optional<Tolerance> tolerance;
  std::vector<std::string> numerics;  // numerics summaries of the runs it was made from (empty: unknown)
  nlohmann::json metrics;             // [{"model","setting","method","metric","value",["stderr","n","of"]}]
  std::string samples_file;           // "" when the baseline stores no per-example samples
  std::map<std::string, store::MetricSamples> samples;  // by "model|setting|method|metric"
};

// The key of Baseline::samples (and of current_metrics' samples): "model|setting|method|metric", from an
// object holding those four strings.
std::string metric_key(const nlohmann::json& metric);

// InputError naming the file and key for a malformed baseline, a samples file that is missing, malformed
// or whose SHA-256 does not match.
Baseline read_baseline(const std::string& path);

// Writes the baseline of `experiment`'s current results to `path` and its samples file beside it,
// atomically. Returns the baseline document.
nlohmann::json write_baseline(store::ResultsDb& db, const std::string& experiment, const Tolerance& tol,
                              const std::string& path);

}  // namespace ptq::report
