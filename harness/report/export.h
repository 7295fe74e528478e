// `ptqbench export`: the runs of the results database in formats other tools read - lm-evaluation-harness
// v0.4 results JSON per run (export_lm_eval.h), or one CSV / JSON lines table of every (run, metric)
// (export_table.h). Every file is written atomically (temp file + rename): a reader never sees half of one.
#pragma once

#include <string>
#include <vector>

namespace ptq::store {
class ResultsDb;
}

namespace ptq::report {

enum class ExportFormat { kLmEval, kCsv, kJsonl };

const std::vector<std::string>& export_format_names();  // lm-eval, csv, jsonl
// InputError "--format: unknown export format 'x', did you mean 'y'? (expected one of: ...)".
ExportFormat parse_export_format(const std::string& name);

struct ExportOptions {
  ExportFormat format = ExportFormat::kLmEval;
  std::vector<std::string> experiments;  // empty: all
  // A directory (created if needed). csv/jsonl: <out>/results.csv|jsonl, or `out` itself when it ends in
  // .csv / .jsonl. lm-eval: <out>/<model_name_sanitized>/results_<date>.json per run.
  std::string out;
};

struct ExportSummary {
  std::vector<std::string> files;  // written, in order
  int runs = 0, rows = 0;          // runs exported; table rows (csv/jsonl)
  int failed = 0;                  // failed runs of the selection, not exported
};

// InputError for an unknown experiment, an empty selection, or an output path that cannot be a writable
// directory (before anything is written); EnvironmentError when a write fails after that (disk full).
ExportSummary export_results(store::ResultsDb& db, const ExportOptions& options);

}  // namespace ptq::report
