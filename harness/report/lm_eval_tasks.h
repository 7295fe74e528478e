// How lm-evaluation-harness v0.4 names what ptqbench measures, for `ptqbench export --format lm-eval`:
// each task's lm-eval dataset and output type, the version of the task whose semantics a cell followed,
// and each ptqbench metric's lm-eval metric key.
//
// The zero-shot tasks are lm-eval's own (same names, datasets and metrics: acc, acc_norm, LAMBADA's
// perplexity). The perplexity tasks are not: ptqbench's wikitext2/c4 follow the GPTQ protocol (the test
// split joined by "\n\n", fixed token segments of seqlen, exp of the mean cross-entropy per predicted
// TOKEN), while lm-eval's `wikitext` task scores rolling windows per document and reports
// word_perplexity, byte_perplexity and bits_per_byte. So they keep ptqbench's task names and report
// `token_perplexity`, a key no lm-eval task writes: lm-eval tooling shows it, and nothing that looks for
// `wikitext`/`word_perplexity` can mistake one number for the other.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace ptq::report {

struct LmEvalTaskInfo {
  std::string task;
  // lm-eval config fields of the dataset: dataset_path, dataset_name, the evaluated split under lm-eval's
  // key for it (validation_split / test_split), dataset_kwargs where needed. Empty dataset_path: the
  // user's own file (the text/jsonl/tokens tasks), filled in from the cell.
  nlohmann::json dataset;
  std::string output_type;        // multiple_choice | loglikelihood | loglikelihood_rolling
  nlohmann::json version_v04;     // lm-eval v0.4's task version ("N/A" for ptqbench's own protocols)
  nlohmann::json version_v03;     // lm-eval v0.3's, for cells scored with v0.3 semantics
  bool lm_eval_task = true;       // false: a ptqbench protocol lm-eval does not have
};

// nullptr for a task this table does not know (a task added to ptqbench later: exported with
// "N/A" for what the table would say).
const LmEvalTaskInfo* lm_eval_task(const std::string& task);

struct LmEvalMetric {
  std::string task;         // the ptqbench (and lm-eval) task it belongs to
  std::string key;          // acc | acc_norm | perplexity | token_perplexity; "" = the task's reported metric
  std::string aggregation;  // lm-eval's aggregation name: mean | perplexity | weighted_perplexity
  bool higher_is_better = true;
  // stored value / divisor = lm-eval's value (accuracies: percent -> fraction). A division, not a
  // multiplication by 0.01: 70 / 100 is the double 0.7, 70 * 0.01 is 0.7000000000000001.
  double divisor = 1;
};

// The lm-eval counterpart of a stored metric (piqa_acc -> piqa acc,none); nothing for metrics that are not
// a task's (zeroshot_avg) or that no registered task produces.
std::optional<LmEvalMetric> lm_eval_metric(const std::string& metric);

// An lm-eval metric's description for a task's config metric_list and its "higher_is_better".
LmEvalMetric lm_eval_metric_of_key(const std::string& task, const std::string& key);

}  // namespace ptq::report
