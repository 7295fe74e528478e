#include "harness/pipeline/evaluate.h"

#include "evaluators/sample_log.h"
#include "evaluators/zeroshot_average.h"
#include "harness/model/llama_model.h"
#include "harness/util/errors.h"
#include "harness/util/stop_request.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <stdexcept>

namespace ptq::pipeline {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The model to score `task` with: the adapter's copy (details in `adaptation`), or the model itself.
std::shared_ptr<LlamaModel> adapted_model(const LlamaModel& model, const eval::Evaluator& task, const EvaluateOptions& o,
                                          nlohmann::json& adaptation) {
  if (!o.adapter) return nullptr;
  const at::Tensor windows = task.scored_windows();
  if (!windows.defined()) return nullptr;
  const auto start = std::chrono::steady_clock::now();
  quant::EvalAdaptationRequest request;
  request.task = task.spec().task;
  request.calibration_dataset = o.calibration_dataset;
  request.segments = &windows;
  request.progress = o.progress;
  adaptation = nlohmann::json::object();
  std::shared_ptr<LlamaModel> adapted = o.adapter(model, request, adaptation);
  adaptation["seconds"] = seconds_since(start);
  return adapted;
}

}  // namespace

Tasks load_tasks(const std::vector<eval::TaskSpec>& specs, const eval::EvalData& data) {
  Tasks tasks;
  for (const auto& spec : specs) tasks.push_back(eval::evaluators().get(spec.task).load(spec, data));
  return tasks;
}

Evaluation evaluate(const LlamaModel& model, const Tasks& tasks, const EvaluateOptions& options) {
  Evaluation e;
  for (const auto& task : tasks) {
    const std::string& name = task->spec().task;
    throw_if_stop_requested("before evaluating " + name);
    nlohmann::json adaptation = nullptr;
    const std::shared_ptr<LlamaModel> adapted = adapted_model(model, *task, options, adaptation);
    eval::TaskResult r = task->evaluate(adapted ? *adapted : model, options.progress);
    if (options.fail_on_nonfinite && eval::evaluators().get(name).kind == "perplexity" && !std::isfinite(r.metrics.at(0).value))
      throw std::runtime_error(fmt::format("{} perplexity is {} (NaN/inf logits)", name, r.metrics.at(0).value));
    nlohmann::json details = r.details;
    if (!adaptation.is_null()) details["evaluation_adaptation"] = adaptation;
    if (!options.samples_dir.empty()) details["samples"] = eval::write_sample_log(options.samples_dir, name, r.samples);
    e.details[name] = details;
    e.seconds[name] = r.seconds;
    e.metrics.insert(e.metrics.end(), r.metrics.begin(), r.metrics.end());
    e.tasks.push_back(std::move(r));
  }
  if (!options.average.empty()) e.metrics.push_back(eval::zeroshot_average(e.tasks, options.average));
  return e;
}

}  // namespace ptq::pipeline
