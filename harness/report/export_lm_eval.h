// One lm-evaluation-harness v0.4 results document per run (`ptqbench export --format lm-eval`), so that
// tooling written for lm-eval's results_*.json (its make_table, W&B / Zeno loggers, leaderboard scripts)
// reads ptqbench's numbers:
//   results          task -> {"alias", "acc,none", "acc_stderr,none", "acc_norm,none", ...}: fractions as
//                    lm-eval writes them (ptqbench stores percent), "N/A" for an unknown stderr
//   group_subtasks   task -> [] (every task stands alone; no "groups": ptqbench's zero-shot average mixes
//                    acc and acc_norm unweighted, which is no lm-eval group aggregate)
//   configs          task -> task, dataset_path/name, the evaluated split, output_type, num_fewshot 0,
//                    metric_list (metric, aggregation, higher_is_better), metadata.version
//   versions         the version of lm-eval's task whose semantics the cell followed (its lm_eval_mode:
//                    v0.4 -> the v0.4 YAML's, v0.3 -> v0.3's VERSION); "N/A" for ptqbench's own protocols
//   n-shot, higher_is_better, n-samples {"original", "effective"}, config (model, model_args, batch_size,
//   device, limit, ...), git_hash, date, model_name(_sanitized), total_evaluation_time_seconds
//   ptqbench         what lm-eval has no key for: run id, experiment, setting, method and its config,
//                    calibration, per-task protocol / lm_eval_mode / limit / data files, the zero-shot
//                    average, timing, memory and the run's provenance
// Perplexity: lm_eval_tasks.h (token_perplexity, not lm-eval's word_perplexity).
#pragma once

#include "harness/report/export_cells.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptq::report {

// The document of one cell.
nlohmann::json lm_eval_document(const ExportCell& cell);

// lm-eval's model_name for a cell: "<experiment>/<model>/<setting>/<label>", plus "/seed<S>" when the
// cell has a calibration seed; sanitized (lm-eval's sanitize_model_name: runs of "\"<>:/|\\?*[]" -> "__")
// it names the cell's directory.
std::string lm_eval_model_name(const ExportCell& cell);
std::string lm_eval_sanitize(const std::string& model_name);

// Where each cell's document goes under the output directory, as lm-eval lays out its output:
// <model_name_sanitized>/results_<date>.json, <date> the run's finish time (else its start, else its run
// id) with ':' -> '-'. Two cells of one name (runs of an older version of the experiment left in the
// database) get "__<run id>" after the directory name, so that no file overwrites another.
std::vector<std::string> lm_eval_paths(const std::vector<ExportCell>& cells);

}  // namespace ptq::report
