// `ptqbench eval`: perplexity (GPTQ/OmniQuant protocol) and zero-shot tasks (lm-eval semantics) of a
// checkpoint. Progress on stderr; on stdout one line per perplexity task, a table for zero-shot tasks,
// or one JSON object with --json.
#include "cli/commands.h"
#include "cli/model_dir.h"
#include "cli/runtime_options.h"
#include "model/checkpoint.h"
#include "model/tokenizer.h"
#include "perplexity/perplexity.h"
#include "perplexity/ppl_tasks.h"
#include "quant/quantized_checkpoint.h"
#include "run/provenance.h"
#include "run/runtime.h"
#include "run/streaming_choice.h"
#include "store/sample_log.h"
#include "util/errors.h"
#include "util/text.h"
#include "zeroshot/zeroshot.h"

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

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::vector<std::string> split_tasks(const std::string& list) {
  std::vector<std::string> names, known;
  for (const auto& t : eval::ppl_tasks()) known.push_back(t.name);
  for (const auto& t : eval::zeroshot_tasks()) known.push_back(t.name);
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    const std::string name = python_strip(list.substr(pos, end - pos));
    pos = end + 1;
    if (name.empty()) continue;
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      const std::string hint = closest_match(name, known);
      throw InputError(fmt::format("unknown task '{}'{} (expected one of: {})", name,
                                   hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint), join(known, ", ")));
    }
    names.push_back(name);
  }
  if (names.empty()) throw InputError("--task lists no task");
  return names;
}

// A perplexity task's data: --data for a single task, else <data-dir>/<task>/ or <data-dir>/ itself
// (the loaders find the canonical file names there).
std::string ppl_data_path(const EvalOptions& o, const std::string& task) {
  if (!o.data.empty()) return o.data;
  const fs::path nested = fs::path(o.data_dir) / task;
  std::error_code ec;
  return fs::is_directory(nested, ec) ? nested.string() : o.data_dir;
}

void run_eval(EvalOptions o) {
  const std::vector<std::string> tasks = split_tasks(o.tasks);  // before touching any file
  const eval::LmEvalMode mode = eval::parse_lm_eval_mode(o.lm_eval_mode);
  if (!o.data.empty() && tasks.size() > 1)
    throw InputError("--data names one file: use --data-dir to evaluate several tasks");
  if (o.data.empty() && o.data_dir.empty()) throw InputError("give --data FILE (one task) or --data-dir DIR");
  for (const auto& t : tasks)
    if (eval::find_zeroshot_task(t) && o.data_dir.empty())
      throw InputError(fmt::format("task {} reads several files: give --data-dir DIR", t));
  if (o.limit < 0) throw InputError(fmt::format("--limit {} must be >= 0 (0 = all)", o.limit));
  std::map<std::string, std::string> reported;  // --metric TASK=METRIC
  for (const auto& m : o.metric_overrides) {
    const size_t eq = m.find('=');
    const std::string task = m.substr(0, eq);
    if (eq == std::string::npos || !eval::find_zeroshot_task(task))
      throw InputError(fmt::format("--metric {}: expected TASK=acc or TASK=acc_norm for a zero-shot task", m));
    reported[task] = m.substr(eq + 1);
  }
  const auto [threads, device, dtype, stream, activations] = apply_runtime_options(o.runtime);
  const ModelDir m = inspect_model_dir(o.model_dir, o.tokenizer);

  std::vector<std::string> notices;
  const bool any_ppl = std::any_of(tasks.begin(), tasks.end(), [](const std::string& t) { return !eval::find_zeroshot_task(t); });
  if (any_ppl && o.seqlen > m.config.max_position_embeddings) {
    notices.push_back(fmt::format("seqlen {} exceeds max_position_embeddings; lowered to {}", o.seqlen,
                                  m.config.max_position_embeddings));
    o.seqlen = m.config.max_position_embeddings;
  }
  bool needs_tokenizer = false;
  for (const auto& t : tasks) needs_tokenizer |= eval::find_zeroshot_task(t) || eval::find_ppl_task(t).needs_tokenizer;
  std::optional<Tokenizer> tok;
  if (needs_tokenizer) {
    if (!m.tokenizer_path)
      throw InputError(fmt::format("task {} needs a tokenizer: no tokenizer.model in {} and no --tokenizer given",
                                   tasks.front(), m.dir));
    tok = Tokenizer::load(*m.tokenizer_path);
    if (tok->vocab_size() > m.config.vocab_size)
      throw InputError(fmt::format("{}: {} pieces, more than the model's vocab_size {} (wrong tokenizer?)", tok->path(),
                                   tok->vocab_size(), m.config.vocab_size));
    if (tok->bos_id() != m.config.bos_token_id)
      notices.push_back(fmt::format("tokenizer BOS id {} differs from config bos_token_id {}; using the tokenizer's",
                                    tok->bos_id(), m.config.bos_token_id));
  }
  for (const auto& n : notices) notice(n);

  // Data first (fail fast on a bad file), then the model.
  const eval::TokenCache cache(o.no_cache ? "" : o.cache_dir);
  std::vector<eval::EvalStream> streams;
  std::vector<eval::LoadedTask> zeroshot;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& t : tasks) {
    if (eval::find_zeroshot_task(t)) {
      zeroshot.push_back(eval::load_zeroshot_task(t, o.data_dir));
    } else {
      streams.push_back(eval::load_eval_stream(t, ppl_data_path(o, t), tok ? &*tok : nullptr, o.seqlen, cache));
      for (const auto& n : streams.back().notices) notice(n);
    }
  }
  const double data_s = seconds_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  const run::StreamingChoice streaming = run::choose_streaming(stream, m.dir, device, dtype);
  if (streaming.stream) notice(streaming.reason);
  LlamaModel model = load_llama(m.dir, {dtype, device, streaming.stream, ""});  // nothing changes blocks here
  const auto quantization = quant::read_quantization_info(m.dir);
  if (quantization) {
    quant::apply_activation_quant(model, quantization->setting);
    notice(fmt::format("quantized checkpoint: {} by {}{}", quantization->setting.str(), quantization->method,
                       model.act_quant.enabled() ? " (activation quantization re-applied)" : ""));
  }
  const double load_s = seconds_since(t1);
  const std::string quant_tag =
      quantization ? fmt::format(", {} {}", quantization->setting.str(), quantization->method) : "";

  nlohmann::json results = nlohmann::json::object();
  size_t stream_i = 0, zs_i = 0;
  std::vector<eval::ZeroShotResult> zs_results;
  for (const auto& t : tasks) {
    if (!eval::find_zeroshot_task(t)) {
      const auto& stream = streams[stream_i++];
      eval::PplOptions popt;
      popt.seqlen = o.seqlen;
      popt.limit = o.limit;
      popt.batch_size = o.batch_size;
      popt.label = t;
      const eval::PplResult r = eval::evaluate_perplexity(model, stream.ids, popt);
      const double tokens_per_s = r.nsamples * r.seqlen / r.seconds;
      results[t] = {{"protocol", stream.protocol}, {"seqlen", r.seqlen}, {"ppl", r.ppl}, {"nll", r.nll},
                    {"tokens", r.tokens}, {"nsamples", r.nsamples}, {"nsamples_total", r.nsamples_total},
                    {"stderr", finite_or_null(r.stderr_ppl)},
                    {"limit", o.limit > 0 ? nlohmann::json(o.limit) : nlohmann::json(nullptr)},
                    {"hashes", {{"data_sha256", stream.provenance["data_sha256"]},
                                {"tokenizer_sha256", stream.provenance.value("tokenizer_sha256", nlohmann::json(nullptr))},
                                {"stream_sha256", stream.provenance["stream_sha256"]}}},
                    {"data_file", stream.provenance["data_file"]}, {"stream_tokens", stream.ids.numel()},
                    {"token_cache_hit", stream.from_cache}, {"seconds", r.seconds}, {"tokens_per_s", tokens_per_s}};
      if (!o.log_samples.empty())
        results[t]["samples"] = store::write_sample_log(o.log_samples, t, store::perplexity_sample_records(r));
      if (!o.json)
        fmt::print("{} ({}, seqlen {}{}): PPL = {:.4f} +/- {:.4f}  [{} of {} segments, {} predicted tokens, {:.1f} s, "
                   "{:.0f} tokens/s, {} threads]\n",
                   t, stream.protocol, r.seqlen, quant_tag, r.ppl, r.stderr_ppl, r.nsamples, r.nsamples_total,
                   r.tokens, r.seconds, tokens_per_s, threads);
    } else {
      eval::ZeroShotOptions zopt;
      zopt.mode = mode;
      zopt.limit = o.limit;
      zopt.batch_size = o.batch_size;
      zopt.reported_metric = reported.count(t) ? reported[t] : "";
      zs_results.push_back(eval::evaluate_zeroshot(model, *tok, zeroshot[zs_i++], zopt));
      results[t] = zs_results.back().to_json();
      results[t]["lm_eval_mode"] = eval::lm_eval_mode_name(mode);
      if (!o.log_samples.empty())
        results[t]["samples"] = store::write_sample_log(o.log_samples, t, store::zeroshot_sample_records(zs_results.back()));
    }
  }

  nlohmann::json average = nullptr;
  if (!zs_results.empty()) {
    double sum = 0;
    std::vector<std::string> names;
    for (const auto& r : zs_results) {
      sum += r.reported_value;
      names.push_back(r.task + ":" + r.reported_metric);
    }
    average = {{"value", sum / zs_results.size()}, {"of", names}};
  }

  if (o.json) {
    nlohmann::json j = {
        {"results", results}, {"average", average},
        {"model", {{"dir", m.dir}, {"config_sha256", m.config_sha256}}},
        {"quantization", quantization ? nlohmann::json{{"setting", quantization->setting.str()},
                                                       {"method", quantization->method},
                                                       {"config", quantization->document.value("config", nlohmann::json())}}
                                      : nlohmann::json(nullptr)},
        {"dtype", dtype_name(dtype)}, {"batch_size", o.batch_size},
        {"timing", {{"data_s", data_s}, {"load_s", load_s}}},
        {"streamed", streaming.stream}, {"memory", run::peak_memory(device)},
        {"environment", environment_info(device)}, {"notices", notices}};
    fmt::print("{}\n", j.dump(2));
    return;
  }
  if (zs_results.empty()) return;
  // A table in lm-eval's layout; '*' marks the metric paper tables report for the task.
  fmt::print("\nzero-shot ({} semantics{}):\n", eval::lm_eval_mode_name(mode), quant_tag);
  fmt::print("| {:<15} | {:>6} | {:<9} | {:>10} | {:>9} | {:>7} |\n", "task", "n", "metric", "value", "stderr", "ex/s");
  fmt::print("|{:-<17}|{:->8}|{:-<11}|{:->12}|{:->11}|{:->9}|\n", "", "", "", "", "", "");
  const auto row = [](const std::string& task, const std::string& n, const std::string& metric, double v, double se,
                      const std::string& rate) {
    fmt::print("| {:<15} | {:>6} | {:<9} | {:>10.4f} | {:>9} | {:>7} |\n", task, n, metric, v,
               std::isfinite(se) ? fmt::format("{:.4f}", se) : "n/a", rate);
  };
  for (const auto& r : zs_results) {
    const std::string rate = fmt::format("{:.1f}", r.n / r.seconds);
    row(r.task, std::to_string(r.n), r.reported_metric == "acc" ? "acc*" : "acc", r.acc.value, r.acc.stderr_value, rate);
    if (r.acc_norm)
      row("", "", r.reported_metric == "acc_norm" ? "acc_norm*" : "acc_norm", r.acc_norm->value,
          r.acc_norm->stderr_value, "");
    if (r.ppl) row("", "", "ppl", r.ppl->value, r.ppl->stderr_value, "");
  }
  fmt::print("| {:<15} | {:>6} | {:<9} | {:>10.4f} | {:>9} | {:>7} |\n", "average", "", "*", average["value"].get<double>(),
             "", "");
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto opts = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand("eval", "Perplexity and zero-shot accuracy of a checkpoint");
  cmd->add_option("--model", opts->model_dir, "Checkpoint directory (config.json + safetensors)")->required();
  std::vector<std::string> names;
  for (const auto& t : eval::ppl_tasks()) names.push_back(t.name);
  for (const auto& t : eval::zeroshot_tasks()) names.push_back(t.name);
  cmd->add_option("--task", opts->tasks, "Comma-separated tasks: " + join(names, ", "))->required();
  cmd->add_option("--data", opts->data, "Data file (or its directory) of a single perplexity task");
  cmd->add_option("--data-dir", opts->data_dir, "Directory with every task's files (layout: see README)");
  cmd->add_option("--tokenizer", opts->tokenizer, "sentencepiece model (default: MODEL/tokenizer.model)");
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
