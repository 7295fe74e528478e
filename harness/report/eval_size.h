// How much of its data a metric of one run evaluated, from the run's result.json `details`: a run with
// `--limit` (or an experiment's "limit") scores the first N documents or segments, and a report must not
// show PIQA on 10 documents as if it were the full 1838.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace ptq::report {

struct EvalSize {
  int64_t docs = 0, total = 0;  // evaluated, and in the whole data; 0 = not recorded
  bool segments = false;        // perplexity segments, not documents
};

// `details`: result.json's "details" (task -> {n, n_total} for zero-shot tasks, {nsamples, nsamples_total}
// for perplexity); `average_tasks`: the cell's "zeroshot_average" (the average's size is the sum of its
// tasks'). `n`: the metric's stored n, used when details do not say.
EvalSize eval_size(const nlohmann::json& details, const nlohmann::json& average_tasks, const std::string& metric, int64_t n);

}  // namespace ptq::report
