// `ptqbench eval`: perplexity of a checkpoint with the GPTQ/OmniQuant protocol (or a generic text /
// token-id file), a running ppl with ETA while it works, one final line or one JSON object at the end.
#include "cli/commands.h"
#include "cli/model_dir.h"
#include "cli/runtime_options.h"
#include "model/checkpoint.h"
#include "model/tokenizer.h"
#include "perplexity/perplexity.h"
#include "perplexity/ppl_tasks.h"
#include "quant/quantized_checkpoint.h"
#include "run/runtime.h"
#include "util/errors.h"
#include "util/text.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

namespace ptq::cli {

namespace {

struct EvalOptions {
  std::string model_dir;
  std::string task;
  std::string data;
  std::string tokenizer;
  int64_t seqlen = 2048;
  int64_t limit = 0;
  int64_t batch_size = 1;
  RuntimeOptions runtime;
  std::string cache_dir = eval::TokenCache::default_dir();
  bool no_cache = false;
  bool json = false;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void notice(const std::string& msg) { fmt::print(stderr, "ptqbench: notice: {}\n", msg); }

void run_eval(EvalOptions o) {
  const auto& task = eval::find_ppl_task(o.task);  // fail on a bad task name before touching any file
  const auto [threads, device, dtype] = apply_runtime_options(o.runtime);
  if (o.limit < 0) throw InputError(fmt::format("--limit {} must be >= 0 (0 = all segments)", o.limit));
  const ModelDir m = inspect_model_dir(o.model_dir, o.tokenizer);

  std::vector<std::string> notices;
  if (o.seqlen > m.config.max_position_embeddings) {
    notices.push_back(fmt::format("seqlen {} exceeds max_position_embeddings; lowered to {}", o.seqlen,
                                  m.config.max_position_embeddings));
    o.seqlen = m.config.max_position_embeddings;
  }

  std::optional<Tokenizer> tok;
  if (task.needs_tokenizer) {
    if (!m.tokenizer_path)
      throw InputError(fmt::format("task {} needs a tokenizer: no tokenizer.model in {} and no --tokenizer given", o.task, m.dir));
    tok = Tokenizer::load(*m.tokenizer_path);
    if (tok->vocab_size() > m.config.vocab_size)
      throw InputError(fmt::format("{}: {} pieces, more than the model's vocab_size {} (wrong tokenizer?)", tok->path(),
                                   tok->vocab_size(), m.config.vocab_size));
    if (tok->bos_id() != m.config.bos_token_id)
      notices.push_back(fmt::format("tokenizer BOS id {} differs from config bos_token_id {}; using the tokenizer's",
                                    tok->bos_id(), m.config.bos_token_id));
  }
  for (const auto& n : notices) notice(n);

  const auto t0 = std::chrono::steady_clock::now();
  const eval::TokenCache cache(o.no_cache ? "" : o.cache_dir);
  const eval::EvalStream stream = eval::load_eval_stream(o.task, o.data, tok ? &*tok : nullptr, o.seqlen, cache);
  const double tokenize_s = seconds_since(t0);
  for (const auto& n : stream.notices) notice(n);

  const auto t1 = std::chrono::steady_clock::now();
  LlamaModel model = load_llama(m.dir, {dtype, device});
  const auto quantization = quant::read_quantization_info(m.dir);
  if (quantization) {
    quant::apply_activation_quant(model, quantization->setting);
    notice(fmt::format("quantized checkpoint: {} by {}{}", quantization->setting.str(), quantization->method,
                       model.act_quant.enabled() ? " (activation quantization re-applied)" : ""));
  }
  const double load_s = seconds_since(t1);

  eval::PplOptions popt;
  popt.seqlen = o.seqlen;
  popt.limit = o.limit;
  popt.batch_size = o.batch_size;
  popt.label = o.task;
  const eval::PplResult r = eval::evaluate_perplexity(model, stream.ids, popt);
  const double tokens_per_s = r.nsamples * r.seqlen / r.seconds;

  if (o.json) {
    const nlohmann::json stderr_json = std::isfinite(r.stderr_ppl) ? nlohmann::json(r.stderr_ppl) : nlohmann::json(nullptr);
    nlohmann::json j = {
        {"task", o.task}, {"protocol", stream.protocol}, {"seqlen", r.seqlen},
        {"limit", o.limit > 0 ? nlohmann::json(o.limit) : nlohmann::json(nullptr)},
        {"ppl", r.ppl}, {"nll", r.nll}, {"tokens", r.tokens}, {"nsamples", r.nsamples},
        {"nsamples_total", r.nsamples_total}, {"stderr", stderr_json},
        {"model", {{"dir", m.dir}, {"config_sha256", m.config_sha256}}},
        {"hashes", {{"data_sha256", stream.provenance["data_sha256"]},
                    {"tokenizer_sha256", stream.provenance.value("tokenizer_sha256", nlohmann::json(nullptr))},
                    {"stream_sha256", stream.provenance["stream_sha256"]}}},
        {"data_file", stream.provenance["data_file"]}, {"stream_tokens", stream.ids.numel()},
        {"token_cache_hit", stream.from_cache}, {"dtype", dtype_name(dtype)}, {"batch_size", o.batch_size},
        {"timing", {{"tokenize_s", tokenize_s}, {"load_s", load_s}, {"eval_s", r.seconds}, {"tokens_per_s", tokens_per_s}}},
        {"environment", environment_info(device)}, {"notices", notices},
        {"quantization", quantization ? nlohmann::json{{"setting", quantization->setting.str()},
                                                       {"method", quantization->method},
                                                       {"config", quantization->document.value("config", nlohmann::json())}}
                                      : nlohmann::json(nullptr)}};
    for (const auto& n : stream.notices) j["notices"].push_back(n);
    fmt::print("{}\n", j.dump(2));
  } else {
    const std::string quant_tag =
        quantization ? fmt::format(", {} {}", quantization->setting.str(), quantization->method) : "";
    fmt::print("{} ({}, seqlen {}{}): PPL = {:.4f} +/- {:.4f}  [{} of {} segments, {} predicted tokens, {:.1f} s, "
               "{:.0f} tokens/s, {} threads]\n",
               o.task, stream.protocol, r.seqlen, quant_tag, r.ppl, r.stderr_ppl, r.nsamples, r.nsamples_total,
               r.tokens, r.seconds, tokens_per_s, threads);
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto opts = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand("eval", "Perplexity of a checkpoint (GPTQ/OmniQuant protocol)");
  cmd->add_option("--model", opts->model_dir, "Checkpoint directory (config.json + safetensors)")->required();
  std::vector<std::string> names;
  for (const auto& t : eval::ppl_tasks()) names.push_back(t.name);
  cmd->add_option("--task", opts->task, "One of: " + join(names, ", "))->required();
  cmd->add_option("--data", opts->data, "Data file, or a directory holding the task's canonical file name")->required();
  cmd->add_option("--tokenizer", opts->tokenizer, "sentencepiece model (default: MODEL/tokenizer.model)");
  cmd->add_option("--seqlen", opts->seqlen, "Segment length (lowered to max_position_embeddings)")->capture_default_str();
  cmd->add_option("--limit", opts->limit, "Score only the first N segments (0 = all)")->capture_default_str();
  cmd->add_option("--batch-size", opts->batch_size, "Segments per forward pass")->capture_default_str();
  add_runtime_options(cmd, opts->runtime);
  cmd->add_option("--cache-dir", opts->cache_dir, "Token stream cache")->capture_default_str();
  cmd->add_flag("--no-cache", opts->no_cache, "Tokenize again, do not read or write the cache");
  cmd->add_flag("--json", opts->json, "Print one JSON object instead of the final line");
  cmd->callback([opts] { run_eval(*opts); });
}

}  // namespace ptq::cli
