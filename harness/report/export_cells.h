// The runs `ptqbench export` writes out, read from the results database: one ExportCell per successful
// run of the selected experiments, with its metrics as the cell stored them (accuracies in percent) and
// its whole result document (details, evaluator specs, provenance), which the lm-eval, CSV and JSON
// lines writers (export_lm_eval.h, export_table.h) turn into their formats.
#pragma once

#include "harness/report/eval_size.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ptq::store {
class ResultsDb;
}

namespace ptq::report {

struct ExportMetric {
  std::string name;                     // wikitext2_ppl, piqa, piqa_acc, piqa_acc_norm, zeroshot_avg, ...
  double value = NAN, stderr_value = NAN;  // as stored: accuracies in percent; NaN when null
  std::optional<int64_t> n;                // documents or segments behind the value
  std::optional<bool> higher_is_better;    // as the result says, else as the evaluator registry declares
};

struct ExportCell {
  std::string run_id, experiment, model, paper_model, setting, method, label, paper_method;
  std::optional<int64_t> seed;  // the calibration seed (none for methods without calibration)
  std::vector<ExportMetric> metrics;
  nlohmann::json result;  // the run's result.json as ingested

  const ExportMetric* metric(const std::string& name) const;
  // result.details[task] / the cell's evaluator spec of `task` (null when the result does not have it).
  const nlohmann::json& details(const std::string& task) const;
  const nlohmann::json& task_spec(const std::string& task) const;
  // Documents (segments for perplexity) a metric scored and how many its task's data has (total 0: not
  // recorded), counted as reports count them (report/eval_size.h): piqa_acc is piqa's; the zero-shot
  // average's are the sums over its tasks (its stored n is the number of tasks).
  EvalSize size(const ExportMetric& m) const;
  // The cell's --limit for the task behind `metric` (0: none).
  int64_t limit_of(const std::string& task) const;
};

struct ExportSelection {
  std::vector<ExportCell> cells;  // by experiment, then plan order
  int failed = 0;                 // failed runs of the selected experiments (nothing to export)
};

// The ok runs of `experiments` (empty: every experiment in the database). InputError for an unknown
// experiment ("did you mean") and for a selection with nothing to export.
ExportSelection select_export_cells(store::ResultsDb& db, const std::vector<std::string>& experiments);

// The distinct experiment names in the database, sorted.
std::vector<std::string> export_experiments(store::ResultsDb& db);

}  // namespace ptq::report
