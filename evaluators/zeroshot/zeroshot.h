// A zero-shot task evaluated end to end: documents -> requests -> log-likelihoods -> acc / acc_norm with
// lm-eval's standard errors (sample standard deviation / sqrt(n)).
#pragma once

#include "evaluators/zeroshot/loglikelihood.h"
#include "evaluators/zeroshot/tasks.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ptq::eval {

struct ZeroShotOptions {
  LmEvalMode mode = LmEvalMode::kV03;
  // 0 = all documents. v0.3 takes the first `limit` after lm-eval's shuffle with random.Random(42) (so
  // --limit picks the same documents as lm-eval 0.3's --limit); v0.4 takes the first `limit` in file order.
  int64_t limit = 0;
  int64_t batch_size = 1;
  bool progress = true;
  std::string reported_metric;  // "" = the task's default (ZeroShotTaskInfo::reported_metric)
};

struct Metric {
  double value = 0, stderr_value = 0;  // stderr NaN when n < 2
};

// One document's outcome (lm-eval's --log_samples record): what regress pairs across runs.
struct DocOutcome {
  size_t doc = 0;                 // index into the task's documents (file order)
  int gold = 0;
  std::vector<double> ll;         // each request's log-likelihood (one per choice; one for LAMBADA)
  std::vector<bool> greedy;       // each continuation entirely greedy
  int pred = 0;                   // the choice acc scores (argmax ll; BoolQ: yes/no; LAMBADA: greedy)
  int pred_norm = -1;             // the choice acc_norm scores (-1 when the task has no acc_norm)
  bool correct = false;           // acc
  bool correct_norm = false;      // acc_norm (meaningful when pred_norm >= 0)
  nlohmann::json to_json() const;
};

struct ZeroShotResult {
  std::string task;
  int64_t n = 0, n_total = 0, requests = 0;
  Metric acc;
  std::optional<Metric> acc_norm;
  std::optional<Metric> ppl;  // lambada_openai
  std::string reported_metric;
  double reported_value = 0;
  double seconds = 0;
  nlohmann::json files;
  std::vector<DocOutcome> docs;  // in evaluation order
  nlohmann::json to_json() const;
};

// The documents evaluated for `limit` (indices into docs).
std::vector<size_t> select_docs(size_t n_docs, int64_t limit, LmEvalMode mode);

// Metrics from per-document log-likelihoods (one LoglikResult per request of each document).
// `reported_metric` overrides the task's default ("acc" or "acc_norm"; InputError if the task has no such metric).
ZeroShotResult compute_metrics(const LoadedTask& task, const std::vector<size_t>& doc_ids,
                               const std::vector<std::vector<LoglikResult>>& results,
                               const std::string& reported_metric = "");

ZeroShotResult evaluate_zeroshot(const LlamaModel& model, const Tokenizer& tokenizer, const LoadedTask& task,
                                 const ZeroShotOptions& options);

}  // namespace ptq::eval
