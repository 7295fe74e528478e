// `ptqbench export --format csv|jsonl`: one row per (run, metric) for notebooks, with the columns of
// export_columns(). Values are as ptqbench stores them (accuracies in percent, the `unit` column says
// which); stderr as the evaluator computed it; n the documents (perplexity: segments) scored and n_total
// how many the task's data has (n < n_total: a --limit run, `limit` gives it; for zeroshot_avg the sums
// over its tasks); the paper's number for the same (model, setting, method, metric) where the
// experiment declares papers that report it, as `ptqbench report` shows it. CSV is RFC 4180 (fields with
// a comma, quote or newline quoted, quotes doubled; an empty field is a missing value); JSON lines have
// null there.
#pragma once

#include "harness/report/export_cells.h"

#include <string>
#include <vector>

namespace ptq::store {
class ResultsDb;
}

namespace ptq::report {

// run_id, experiment, model, paper_model, setting, method, label, seed, task, metric, value, stderr, n,
// n_total, limit, unit, higher_is_better, paper_value, paper, paper_table, effective_bits_per_weight,
// packed_bytes (the run's size on disk in the GPTQ-packed export, ptq/packed_size.h; empty before issue #30).
const std::vector<std::string>& export_columns();

// Rows of every cell (paper numbers looked up in `db`, per experiment, as reports do).
std::string export_csv(store::ResultsDb& db, const std::vector<ExportCell>& cells);
std::string export_jsonl(store::ResultsDb& db, const std::vector<ExportCell>& cells);

// One CSV field (RFC 4180 quoting).
std::string csv_field(const std::string& text);

}  // namespace ptq::report
