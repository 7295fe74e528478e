// `ptqbench eval`: perplexity (GPTQ/OmniQuant protocol) and zero-shot tasks (lm-eval semantics) of a
// checkpoint. Progress on stderr; on stdout one line per perplexity task, a table for zero-shot tasks,
// or one JSON object with --json.
#include "evaluators/evaluator.h"
#include "evaluators/zeroshot/loglikelihood.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_dir.h"
#include "harness/cli/runtime_options.h"
#include "harness/data/token_cache.h"
#include "harness/model/tokenizer.h"
#include "harness/pipeline/evaluate.h"
#include "harness/pipeline/quantize.h"
#include "harness/run/provenance.h"
#include "harness/util/errors.h"
#include "harness/util/runtime.h"
#include "harness/util/text.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

struct EvalOptions {
  std::string model_dir;
  std::string tasks;
  std::string data;
  std::string data_dir;
  std::string tokenizer;
  int64_t seqlen = 2048;
  int64_t limit = 0;
  int64_t batch_size = 1;
  std::string lm_eval_mode = "v0.3";
  std::vector<std::string> metric_overrides;  // TASK=acc|acc_norm
  RuntimeOptions runtime;
  std::string cache_dir = eval::TokenCache::default_dir();
  bool no_cache = false;
  bool json = false;
  std::string log_samples;  // directory for per-example logs ("" = none)
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void notice(const std::string& msg) { fmt::print(stderr, "ptqbench: notice: {}\n", msg); }

std::vector<std::string> split_tasks(const std::string& list) {
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    const std::string name = python_strip(list.substr(pos, end - pos));
    pos = end + 1;
    if (name.empty()) continue;
    eval::evaluators().get(name);  // InputError "unknown task ..., did you mean ...?"
    names.push_back(name);
  }
  if (names.empty()) throw InputError("--task lists no task");
  return names;
}

bool is_zeroshot(const std::string& task) { return eval::evaluators().get(task).kind == "zero-shot"; }

double number_or_nan(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : NAN; }

// A perplexity task's data: --data for a single task, else <data-dir>/<task>/ or <data-dir>/ itself
// (the loaders find the canonical file names there).
std::string ppl_data_path(const EvalOptions& o, const std::string& task) {
  if (!o.data.empty()) return o.data;
  const fs::path nested = fs::path(o.data_dir) / task;
  std::error_code ec;
  return fs::is_directory(nested, ec) ? nested.string() : o.data_dir;
}

// The request as evaluator specs; --metric TASK=METRIC overrides a zero-shot task's reported metric.
std::vector<eval::TaskSpec> task_specs(const EvalOptions& o, const std::vector<std::string>& tasks) {
  std::map<std::string, std::string> reported;
  for (const auto& m : o.metric_overrides) {
    const size_t eq = m.find('=');
    const std::string task = m.substr(0, eq);
    if (eq == std::string::npos || !eval::evaluators().find(task) || !is_zeroshot(task))
      throw InputError(fmt::format("--metric {}: expected TASK=acc or TASK=acc_norm for a zero-shot task", m));
    reported[task] = m.substr(eq + 1);
  }
  std::vector<eval::TaskSpec> specs;
  for (const auto& t : tasks) {
    eval::TaskSpec s;
    s.task = t;
    s.data = is_zeroshot(t) ? o.data_dir : ppl_data_path(o, t);
    s.seqlen = o.seqlen;
    s.limit = o.limit;
    s.batch_size = o.batch_size;
    s.lm_eval_mode = o.lm_eval_mode;
    s.reported_metric = reported.count(t) ? reported[t] : "";
    specs.push_back(std::move(s));
  }
  return specs;
}

void check_request(const EvalOptions& o, const std::vector<std::string>& tasks) {
  eval::parse_lm_eval_mode(o.lm_eval_mode);
  if (!o.data.empty() && tasks.size() > 1)
    throw InputError("--data names one file: use --data-dir to evaluate several tasks");
  if (o.data.empty() && o.data_dir.empty()) throw InputError("give --data FILE (one task) or --data-dir DIR");
  for (const auto& t : tasks)
    if (eval::evaluators().get(t).reads_directory && o.data_dir.empty())
      throw InputError(fmt::format("task {} reads several files: give --data-dir DIR", t));
  if (o.limit < 0) throw InputError(fmt::format("--limit {} must be >= 0 (0 = all)", o.limit));
}

// The tokenizer the tasks need (checked against the model), or none.
std::optional<Tokenizer> load_tokenizer(const ModelDir& m, const std::vector<std::string>& tasks,
                                        std::vector<std::string>& notices) {
  bool needed = false;
  for (const auto& t : tasks) needed |= eval::evaluators().get(t).needs_tokenizer;
  if (!needed) return std::nullopt;
  if (!m.tokenizer_path)
    throw InputError(fmt::format("task {} needs a tokenizer: no tokenizer.model, tokenizer.json or "
                                 "original/tokenizer.model in {}, and no --tokenizer given", tasks.front(), m.dir));
  Tokenizer tok = Tokenizer::load(*m.tokenizer_path);
  if (tok.vocab_size() > m.config.vocab_size)
    throw InputError(fmt::format("{}: {} pieces, more than the model's vocab_size {} (wrong tokenizer?)", tok.path(),
                                 tok.vocab_size(), m.config.vocab_size));
  if (tok.adds_bos() && m.config.bos_token_id >= 0 && tok.bos_id() != m.config.bos_token_id)
    notices.push_back(fmt::format("tokenizer BOS id {} differs from config bos_token_id {}; using the tokenizer's",
                                  tok.bos_id(), m.config.bos_token_id));
  return tok;
}

void print_ppl_line(const eval::TaskResult& r, const std::string& quant_tag, int threads) {
  const nlohmann::json& d = r.details;
  fmt::print("{} ({}, seqlen {}{}): PPL = {:.4f} +/- {:.4f}  [{} of {} segments, {} predicted tokens, {:.1f} s, "
             "{:.0f} tokens/s, {} threads]\n",
             r.task, d.at("protocol").get<std::string>(), d.at("seqlen").get<int64_t>(), quant_tag, r.metrics.at(0).value,
             r.metrics.at(0).stderr_value, d.at("nsamples").get<int64_t>(), d.at("nsamples_total").get<int64_t>(),
             d.at("tokens").get<int64_t>(), r.seconds, d.at("tokens_per_s").get<double>(), threads);
}

// A table in lm-eval's layout; '*' marks the metric paper tables report for the task.
void print_zeroshot_table(const std::vector<const eval::TaskResult*>& results, const std::string& mode,
                          const std::string& quant_tag, double average) {
  fmt::print("\nzero-shot ({} semantics{}):\n", mode, quant_tag);
  fmt::print("| {:<15} | {:>6} | {:<9} | {:>10} | {:>9} | {:>7} |\n", "task", "n", "metric", "value", "stderr", "ex/s");
  fmt::print("|{:-<17}|{:->8}|{:-<11}|{:->12}|{:->11}|{:->9}|\n", "", "", "", "", "", "");
  const auto row = [](const std::string& task, const std::string& n, const std::string& metric, const nlohmann::json& m,
                      const std::string& rate) {
    const double se = number_or_nan(m.at("stderr"));
    fmt::print("| {:<15} | {:>6} | {:<9} | {:>10.4f} | {:>9} | {:>7} |\n", task, n, metric, m.at("value").get<double>(),
               std::isfinite(se) ? fmt::format("{:.4f}", se) : "n/a", rate);
  };
  for (const eval::TaskResult* r : results) {
    const nlohmann::json& d = r->details;
    const std::string reported = d.at("reported_metric").get<std::string>();
    const int64_t n = d.at("n").get<int64_t>();
    row(r->task, std::to_string(n), reported == "acc" ? "acc*" : "acc", d.at("acc"), fmt::format("{:.1f}", n / r->seconds));
    if (!d.at("acc_norm").is_null()) row("", "", reported == "acc_norm" ? "acc_norm*" : "acc_norm", d.at("acc_norm"), "");
    if (d.contains("ppl")) row("", "", "ppl", d.at("ppl"), "");
  }
  fmt::print("| {:<15} | {:>6} | {:<9} | {:>10.4f} | {:>9} | {:>7} |\n", "average", "", "*", average, "", "");
}

void run_eval(EvalOptions o) {
  const std::vector<std::string> tasks = split_tasks(o.tasks);  // before touching any file
  check_request(o, tasks);
  std::vector<eval::TaskSpec> specs = task_specs(o, tasks);
  const auto [threads, device, dtype, stream, activations] = apply_runtime_options(o.runtime);
  const ModelDir m = inspect_model_dir(o.model_dir, o.tokenizer);

  std::vector<std::string> notices;
  const bool any_ppl = std::any_of(tasks.begin(), tasks.end(), [](const std::string& t) { return !is_zeroshot(t); });
  if (any_ppl && o.seqlen > m.config.max_position_embeddings) {
    notices.push_back(fmt::format("seqlen {} exceeds max_position_embeddings; lowered to {}", o.seqlen,
                                  m.config.max_position_embeddings));
    for (auto& s : specs) s.seqlen = m.config.max_position_embeddings;
  }
  const std::optional<Tokenizer> tok = load_tokenizer(m, tasks, notices);
  for (const auto& n : notices) notice(n);

  // Data first (fail fast on a bad file), then the model.
  const eval::TokenCache cache(o.no_cache ? "" : o.cache_dir);
  const auto t0 = std::chrono::steady_clock::now();
  const pipeline::Tasks loaded = pipeline::load_tasks(specs, {tok ? &*tok : nullptr, &cache, m.dir});
  for (const auto& t : loaded)
    for (const auto& n : t->notices()) notice(n);
  const double data_s = seconds_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  const pipeline::LoadedModel lm = pipeline::load_model(m.dir, dtype, device, stream, "");  // nothing changes blocks here
  if (lm.streaming.stream) notice(lm.streaming.reason);
  const auto& quantization = lm.quantization;
  if (quantization)
    notice(fmt::format("quantized checkpoint: {} by {}{}", quantization->setting.str(), quantization->method,
                       lm.model.quantizes_activations() ? " (activation quantization re-applied)" : ""));
  const double load_s = seconds_since(t1);
  const std::string quant_tag =
      quantization ? fmt::format(", {} {}", quantization->setting.str(), quantization->method) : "";

  pipeline::EvaluateOptions eo;
  eo.samples_dir = o.log_samples;
  const pipeline::Evaluation ev = pipeline::evaluate(lm.model, loaded, eo);

  std::vector<const eval::TaskResult*> zeroshot;
  for (const auto& r : ev.tasks) {
    if (r.reported_fraction) zeroshot.push_back(&r);
    else if (!o.json) print_ppl_line(r, quant_tag, threads);
  }
  nlohmann::json average = nullptr;
  if (!zeroshot.empty()) {
    double sum = 0;
    std::vector<std::string> names;
    for (const eval::TaskResult* r : zeroshot) {
      sum += *r->reported_fraction;
      names.push_back(r->task + ":" + r->details.at("reported_metric").get<std::string>());
    }
    average = {{"value", sum / zeroshot.size()}, {"of", names}};
  }

  if (o.json) {
    nlohmann::json j = {
        {"results", ev.details}, {"average", average},
        {"model", {{"dir", m.dir}, {"config_sha256", m.config_sha256}}},
        {"quantization", quantization ? nlohmann::json{{"setting", quantization->setting.str()},
                                                       {"method", quantization->method},
                                                       {"config", quantization->document.value("config", nlohmann::json())}}
                                      : nlohmann::json(nullptr)},
        {"dtype", dtype_name(dtype)}, {"batch_size", o.batch_size},
        {"timing", {{"data_s", data_s}, {"load_s", load_s}}},
        {"streamed", lm.streaming.stream}, {"memory", run::peak_memory(device)},
        {"environment", environment_info(device)}, {"notices", notices}};
    fmt::print("{}\n", j.dump(2));
    return;
  }
  if (!zeroshot.empty()) print_zeroshot_table(zeroshot, eval::lm_eval_mode_name(eval::parse_lm_eval_mode(o.lm_eval_mode)), quant_tag, average["value"].get<double>());
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto opts = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand("eval", "Perplexity and zero-shot accuracy of a checkpoint");
  cmd->add_option("--model", opts->model_dir, "Checkpoint directory (config.json + safetensors)")->required();
  cmd->add_option("--task", opts->tasks, "Comma-separated tasks: " + join(eval::evaluators().names(), ", "))->required();
  cmd->add_option("--data", opts->data, "Data file (or its directory) of a single perplexity task");
  cmd->add_option("--data-dir", opts->data_dir, "Directory with every task's files (layout: see README)");
  cmd->add_option("--tokenizer", opts->tokenizer, "tokenizer.model, tokenizer.json or a directory holding one (default: the model directory's)");
  cmd->add_option("--seqlen", opts->seqlen, "Perplexity segment length (lowered to max_position_embeddings)")
      ->capture_default_str();
  cmd->add_option("--limit", opts->limit, "Perplexity: first N segments; zero-shot: N documents (0 = all)")
      ->capture_default_str();
  cmd->add_option("--batch-size", opts->batch_size, "Segments / requests per forward pass")->capture_default_str();
  cmd->add_option("--lm-eval-mode", opts->lm_eval_mode, "Zero-shot tokenization: v0.3 (papers) or v0.4")
      ->capture_default_str();
  cmd->add_option("--metric", opts->metric_overrides,
                  "TASK=acc|acc_norm: the metric reported (and averaged) for a zero-shot task; repeatable");
  add_runtime_options(cmd, opts->runtime);
  cmd->add_option("--cache-dir", opts->cache_dir, "Token stream cache")->capture_default_str();
  cmd->add_flag("--no-cache", opts->no_cache, "Tokenize again, do not read or write the cache");
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of lines and tables");
  cmd->add_option("--log-samples", opts->log_samples,
                  "Write per-example logs to DIR/<task>.jsonl.gz (zero-shot: each choice's log-likelihood, greediness, "
                  "prediction, gold; perplexity: each segment's NLL); their SHA-256 goes into --json");
  cmd->callback([opts] { run_eval(*opts); });
}

}  // namespace ptq::cli
