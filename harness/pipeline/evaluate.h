// evaluate(model, tasks) -> metrics: the one evaluation path of `ptqbench eval`, the cell runner and the
// tests. Tasks are loaded first (load_tasks: a bad data file fails before the model is loaded), then
// scored in order; each metric carries name, value, stderr, n and higher_is_better
// (evaluators/evaluator.h). A method's evaluation-time adaptation (LRQuant's TTA) is a step here: for
// each task with fixed windows, the adapter gets exactly those windows and returns the model to score.
#pragma once

#include "evaluators/evaluator.h"
#include "harness/ptq/method.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace ptq {
class LlamaModel;
}

namespace ptq::pipeline {

using Tasks = std::vector<std::unique_ptr<eval::Evaluator>>;

// Reads every task's data (InputError naming the task's file on bad data).
Tasks load_tasks(const std::vector<eval::TaskSpec>& specs, const eval::EvalData& data);

struct EvaluateOptions {
  bool progress = true;
  std::string samples_dir;  // per-example logs <dir>/<task>.jsonl.gz ("" = none)
  // Zero-shot tasks whose reported metrics are averaged into eval::kZeroShotAverage (percent; empty = no
  // average). Every name must be one of the tasks; callers choose them with eval::average_tasks
  // (evaluators/zeroshot_average.h), the one definition of the average.
  std::vector<std::string> average;
  // A perplexity task's non-finite perplexity (NaN/Inf logits) fails the evaluation instead of being reported.
  bool fail_on_nonfinite = false;
  quant::EvalAdapter adapter;       // evaluation-time adaptation; empty = none
  std::string calibration_dataset;  // what the method calibrated on, told to the adapter
};

struct Evaluation {
  std::vector<eval::TaskResult> tasks;     // in task order
  std::vector<eval::MetricValue> metrics;  // every task's, then the average
  // task -> the task's details, with "samples" (the log's file, SHA-256, records) and, when adapted,
  // "evaluation_adaptation".
  nlohmann::json details = nlohmann::json::object();
  nlohmann::json seconds = nlohmann::json::object();  // task -> evaluation seconds
};

// Checks for a stop request (util/stop_request.h) before each task.
Evaluation evaluate(const LlamaModel& model, const Tasks& tasks, const EvaluateOptions& options);

}  // namespace ptq::pipeline
