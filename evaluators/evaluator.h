// The evaluator interface and registry (lm-eval's shape: tasks registered by name, each metric declared
// with its direction). `ptqbench eval`, the cell runner and the tests all evaluate through it
// (harness/pipeline/evaluate.h); perplexity (evaluators/perplexity/) and zero-shot tasks
// (evaluators/zeroshot/) are its implementations. A new task = an Evaluator and one registry entry in
// evaluators/evaluator.cpp.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ptq {
class LlamaModel;
class Tokenizer;
}  // namespace ptq

namespace ptq::eval {

class TokenCache;

// One number a task produces, as results store it.
struct MetricValue {
  std::string name;         // "wikitext2_ppl", "piqa" (the reported metric), "piqa_acc", "piqa_acc_norm", ...
  double value = 0;         // accuracies in percent
  double stderr_value = 0;  // NaN when unknown (n < 2, or an average)
  int64_t n = 0;            // documents or segments behind the value
  bool higher_is_better = true;
  // {"name", "value", "stderr", "n", "higher_is_better"}; non-finite numbers as null.
  nlohmann::json to_json() const;
};

// What to evaluate: one task and its protocol options.
struct TaskSpec {
  std::string task;
  std::string data;             // the task's file or directory
  int64_t seqlen = 2048;        // perplexity segment length (callers cap it at max_position_embeddings)
  int64_t limit = 0;            // perplexity: first N segments; zero-shot: N documents (0 = all)
  int64_t batch_size = 1;
  std::string lm_eval_mode = "v0.3";  // zero-shot tokenization semantics
  std::string reported_metric;        // zero-shot: "acc" | "acc_norm" | "" (the task's default)
};

// What loading a task may read besides its files.
struct EvalData {
  const Tokenizer* tokenizer = nullptr;  // nullptr: a task that needs one throws InputError naming `model_dir`
  const TokenCache* cache = nullptr;     // token stream cache (nullptr = none)
  std::string model_dir;
};

struct TaskResult {
  std::string task;
  std::vector<MetricValue> metrics;     // the reported metric first
  nlohmann::json details;               // stored under details.<task> in results and printed by `eval --json`
  std::vector<nlohmann::json> samples;  // per-example records (harness/store/sample_log.h)
  std::optional<double> reported_fraction;  // zero-shot: the reported metric in [0, 1], for averages
  double seconds = 0;
};

// One task with its data loaded (so that a bad file fails before the model loads).
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  virtual const TaskSpec& spec() const = 0;
  // Warnings from loading the data (e.g. special-token strings in the text).
  virtual std::vector<std::string> notices() const { return {}; }
  // The [n, seqlen] token windows the task scores, for evaluation-time adaptation (LRQuant's TTA);
  // undefined for tasks without fixed windows.
  virtual at::Tensor scored_windows() const { return {}; }
  virtual TaskResult evaluate(const LlamaModel& model, bool progress) const = 0;
};

struct MetricInfo {
  std::string name;
  bool higher_is_better = true;
};

struct EvaluatorInfo {
  std::string name;
  std::string description;
  std::string kind;             // "perplexity" | "zero-shot"
  bool needs_tokenizer = true;
  bool reads_directory = false;  // several files: the data must be a directory
  std::vector<MetricInfo> metrics;
  std::function<std::unique_ptr<Evaluator>(const TaskSpec& spec, const EvalData& data)> load;
};

class EvaluatorRegistry {
 public:
  void add(EvaluatorInfo info);                          // a duplicate name is a programming error
  const EvaluatorInfo* find(const std::string& name) const;  // nullptr when unknown
  // InputError "unknown task 'x', did you mean 'y'? (expected one of: ...)".
  const EvaluatorInfo& get(const std::string& name) const;
  const std::vector<EvaluatorInfo>& all() const { return infos_; }
  std::vector<std::string> names() const;  // registration order: perplexity tasks, then zero-shot
  // The direction of any metric a registered task (or an average over tasks) produces; InputError for
  // a name no task declares.
  bool higher_is_better(const std::string& metric) const;

 private:
  std::vector<EvaluatorInfo> infos_;
};

// Every task: evaluators/perplexity and evaluators/zeroshot, registered explicitly, and those of runtime
// plugins (harness/pipeline/plugins.h).
const EvaluatorRegistry& evaluators();
// Adds a runtime plugin's task (the plugin loader checks the name first; a duplicate is a logic error).
// Not thread-safe: plugins load before any work starts.
void register_evaluator(EvaluatorInfo info);

// The average of zero-shot tasks' reported metrics (percent) that paper tables print as "Avg.".
inline constexpr const char* kZeroShotAverage = "zeroshot_avg";

}  // namespace ptq::eval
