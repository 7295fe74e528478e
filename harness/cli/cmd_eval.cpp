// `ptqbench eval`: perplexity (GPTQ/OmniQuant protocol) and zero-shot tasks (lm-eval semantics) of a
// checkpoint. Progress on stderr; on stdout one line per perplexity task, a table for zero-shot tasks,
// or one JSON object with --json.
#include "evaluators/evaluator.h"
#include "evaluators/zeroshot/loglikelihood.h"
#include "evaluators/zeroshot_average.h"
#include "harness/cli/choices.h"
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
  std::string lm_eval_mode;   // "" = each task's default (eval::default_lm_eval_mode)
  std::string average;        // comma-separated zero-shot tasks; "" = the papers' six that were evaluated
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

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> names;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    const std::string name = python_strip(list.substr(pos, end - pos));
    pos = end + 1;
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

std::vector<std::string> split_tasks(const std::string& list) {
  const std::vector<std::string> names = split_list(list);
  for (const auto& name : names) require_known("--task", "task", name, eval::evaluators().names());
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
  std::vector<std::string> zeroshot_names;
  for (const auto& info : eval::evaluators().all())
    if (info.kind == "zero-shot") zeroshot_names.push_back(info.name);
  for (const auto& m : o.metric_overrides) {
    const size_t eq = m.find('=');
    if (eq == std::string::npos) throw InputError(fmt::format("--metric {}: expected TASK=acc or TASK=acc_norm", m));
    const std::string task = m.substr(0, eq), metric = m.substr(eq + 1);
    require_known("--metric " + m, "zero-shot task", task, zeroshot_names);
    std::vector<std::string> choices = {"acc"};
    for (const auto& mi : eval::evaluators().get(task).metrics)
      if (mi.name == task + "_acc_norm") choices.push_back("acc_norm");
    require_known("--metric " + m, "metric of " + task, metric, choices);
    reported[task] = metric;
  }
  std::vector<eval::TaskSpec> specs;
  for (const auto& t : tasks) {
    eval::TaskSpec s;
    s.task = t;
    s.data = is_zeroshot(t) ? o.data_dir : ppl_data_path(o, t);
    s.seqlen = o.seqlen;
    s.limit = o.limit;
    s.batch_size = o.batch_size;
    s.lm_eval_mode = o.lm_eval_mode.empty() ? eval::lm_eval_mode_name(eval::default_lm_eval_mode(t)) : o.lm_eval_mode;
    s.reported_metric = reported.count(t) ? reported[t] : "";
    specs.push_back(std::move(s));
  }
  return specs;
}

void check_request(const EvalOptions& o, const std::vector<std::string>& tasks) {
  if (!o.lm_eval_mode.empty()) require_known("--lm-eval-mode", "lm-eval mode", o.lm_eval_mode, {"v0.3", "v0.4"});
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

// The stderr of a perplexity needs two segments at least (it is the spread of their losses).
std::string ppl_stderr_text(double se, int64_t segments) {
  if (std::isfinite(se)) return fmt::format("+/- {:.4f}", se);
  return segments < 2 ? fmt::format("(stderr n/a: {} segment)", segments) : "(stderr n/a)";
}

void print_ppl_line(const eval::TaskResult& r, const std::string& quant_tag, int threads) {
  const nlohmann::json& d = r.details;
  const int64_t n = d.at("nsamples").get<int64_t>(), total = d.at("nsamples_total").get<int64_t>();
  fmt::print("{} ({}, seqlen {}{}): PPL = {:.4f} {}  [{} of {} segments{}, {} predicted tokens, {:.1f} s, "
             "{:.0f} tokens/s, {} threads]\n",
             r.task, d.at("protocol").get<std::string>(), d.at("seqlen").get<int64_t>(), quant_tag, r.metrics.at(0).value,
             ppl_stderr_text(r.metrics.at(0).stderr_value, n), n, total, n < total ? " (--limit: partial)" : "",
             d.at("tokens").get<int64_t>(), r.seconds, d.at("tokens_per_s").get<double>(), threads);
}

// "20" or, for a partial run, "20 of 1838".
std::string n_text(const nlohmann::json& d) {
  const int64_t n = d.at("n").get<int64_t>(), total = d.value("n_total", n);
  return n < total ? fmt::format("{} of {}", n, total) : std::to_string(n);
}

// The semantics in the table's title: "v0.3" or "v0.3; lambada_openai: v0.4".
std::string modes_text(const std::vector<const eval::TaskResult*>& results) {
  std::map<std::string, std::vector<std::string>> by_mode;
  for (const eval::TaskResult* r : results) by_mode[r->details.at("lm_eval_mode").get<std::string>()].push_back(r->task);
  if (by_mode.size() == 1) return by_mode.begin()->first;
  const std::string main = by_mode.count("v0.3") ? "v0.3" : by_mode.begin()->first;
  std::string out = main;
  for (const auto& [mode, tasks] : by_mode)
    if (mode != main) out += fmt::format("; {}: {}", join(tasks, ", "), mode);
  return out;
}

// A table in lm-eval's layout; '*' marks the metric paper tables report for the task (and average).
void print_zeroshot_table(const std::vector<const eval::TaskResult*>& results, const std::string& quant_tag,
                          const nlohmann::json& average, int64_t limit) {
  fmt::print("\nzero-shot (lm-eval {} semantics{}):\n", modes_text(results), quant_tag);
  // No timings in the table: it holds the results, the same on every machine (speed is on stderr and in --json).
  fmt::print("| {:<15} | {:>12} | {:<9} | {:>10} | {:>9} |\n", "task", "n", "metric", "value", "stderr");
  fmt::print("|{:-<17}|{:->14}|{:-<11}|{:->12}|{:->11}|\n", "", "", "", "", "");
  const auto row = [](const std::string& task, const std::string& n, const std::string& metric, const nlohmann::json& m) {
    const double se = number_or_nan(m.at("stderr"));
    fmt::print("| {:<15} | {:>12} | {:<9} | {:>10.4f} | {:>9} |\n", task, n, metric, m.at("value").get<double>(),
               std::isfinite(se) ? fmt::format("{:.4f}", se) : "n/a");
  };
  bool partial = false;
  for (const eval::TaskResult* r : results) {
    const nlohmann::json& d = r->details;
    const std::string reported = d.at("reported_metric").get<std::string>();
    partial |= d.at("n").get<int64_t>() < d.value("n_total", int64_t{0});
    row(r->task, n_text(d), reported == "acc" ? "acc*" : "acc", d.at("acc"));
    if (!d.at("acc_norm").is_null()) row("", "", reported == "acc_norm" ? "acc_norm*" : "acc_norm", d.at("acc_norm"));
    if (d.contains("ppl")) row("", "", "ppl", d.at("ppl"));
  }
  if (!average.is_null())
    fmt::print("| {:<15} | {:>12} | {:<9} | {:>10.4f} | {:>9} |\n", "average", "", "*", average.at("value").get<double>(), "");
  if (!average.is_null()) fmt::print("average: mean of the * metrics of {}\n", average.at("covers").get<std::string>());
  else fmt::print("average: none (no task of the papers' average was evaluated; --average TASKS chooses tasks)\n");
  if (partial)
    fmt::print("partial: --limit {} scored n of each task's documents; not comparable with a full run\n", limit);
}

void run_eval(EvalOptions o) {
  const std::vector<std::string> tasks = split_tasks(o.tasks);  // before touching any file
  check_request(o, tasks);
  std::vector<eval::TaskSpec> specs = task_specs(o, tasks);
  const std::vector<std::string> average_of = eval::average_tasks(split_list(o.average), tasks, "--average");
  const auto [threads, device, dtype, stream, activations] = apply_runtime_options(o.runtime);
  const ModelDir m = inspect_model_dir(o.model_dir, o.tokenizer);

  std::vector<std::string> notices;
  for (const auto& s : specs) {  // LAMBADA's semantics (evaluators/zeroshot/loglikelihood.h says why)
    const std::string note =
        is_zeroshot(s.task) ? eval::lm_eval_mode_note(s.task, eval::parse_lm_eval_mode(s.lm_eval_mode), !o.lm_eval_mode.empty()) : "";
    if (note.empty()) continue;
    if (o.lm_eval_mode.empty()) notices.push_back(note);
    else fmt::print(stderr, "ptqbench: warning: {}\n", note);
  }
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
  eo.average = average_of;
  const pipeline::Evaluation ev = pipeline::evaluate(lm.model, loaded, eo);

  std::vector<const eval::TaskResult*> zeroshot;
  for (const auto& r : ev.tasks) {
    if (r.reported_fraction) zeroshot.push_back(&r);
    else if (!o.json) print_ppl_line(r, quant_tag, threads);
  }
  nlohmann::json average = nullptr;  // as a fraction, like each task's reported_value
  for (const auto& mv : ev.metrics) {
    if (mv.name != eval::kZeroShotAverage) continue;
    std::vector<std::string> of;
    for (const auto& t : average_of) of.push_back(t + ":" + ev.details.at(t).at("reported_metric").get<std::string>());
    average = {{"value", mv.value / 100}, {"of", of}, {"tasks", average_of}, {"covers", eval::describe_average(average_of)},
               {"default", o.average.empty()}};
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
  if (!zeroshot.empty()) print_zeroshot_table(zeroshot, quant_tag, average, o.limit);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto opts = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand("eval", "Perplexity and zero-shot accuracy of a checkpoint");
  cmd->add_option("--model", opts->model_dir, "Checkpoint directory (config.json + safetensors)")->required();
  cmd->add_option("--task", opts->tasks, "Comma-separated tasks: " + join(eval::evaluators().names(), ", "))->required();
  cmd->add_option("--data", opts->data, "Data file (or its directory) of a single perplexity task");
  cmd->add_option("--data-dir", opts->data_dir, "Directory with every task's files (layout: docs/evaluation.md)");
  cmd->add_option("--tokenizer", opts->tokenizer, "tokenizer.model, tokenizer.json or a directory holding one (default: the model directory's)");
  cmd->add_option("--seqlen", opts->seqlen, "Perplexity segment length (lowered to max_position_embeddings)")
      ->capture_default_str();
  cmd->add_option("--limit", opts->limit, "Perplexity: first N segments; zero-shot: N documents (0 = all)")
      ->capture_default_str();
  cmd->add_option("--batch-size", opts->batch_size, "Segments / requests per forward pass")->capture_default_str();
  cmd->add_option("--lm-eval-mode", opts->lm_eval_mode,
                  "Zero-shot tokenization: v0.3 (papers) or v0.4 (default: v0.3, but v0.4 for lambada_openai, "
                  "which v0.3 scores 0 % with sentencepiece tokenizers)");
  cmd->add_option("--average", opts->average,
                  "Comma-separated zero-shot tasks averaged into \"average\" (default: those of the papers' six "
                  "evaluated: piqa, arc_easy, arc_challenge, boolq, hellaswag, winogrande; never lambada_openai)");
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
