// `ptqbench quantize`: apply a method at a setting to a checkpoint and write the quantized checkpoint that
// `ptqbench eval` reads back: fake-quantized (de-quantized weights + scales/zeros + quantization.json) or,
// with --format gptq, packed in the GPTQ format that serving stacks load (ptq/gptq_export.h).
#include "harness/cli/choices.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_dir.h"
#include "harness/cli/runtime_options.h"
#include "harness/data/calibration.h"
#include "harness/data/token_cache.h"
#include "harness/io/files.h"
#include "harness/model/tokenizer.h"
#include "harness/pipeline/plugins.h"
#include "harness/pipeline/quantize.h"
#include "harness/ptq/gptq_export.h"
#include "harness/ptq/packed_size.h"
#include "harness/ptq/quantized_checkpoint.h"
#include "harness/recon/loss_log.h"
#include "harness/run/provenance.h"
#include "harness/util/errors.h"
#include "harness/util/json_text.h"
#include "harness/util/request_limits.h"
#include "harness/util/runtime.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>

#include <unistd.h>

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

struct QuantizeOptions {
  std::string model_dir, method, setting, config = "{}", out_dir;
  // Calibration, for methods that need it: the reference codes' get_loaders(name, nsamples, seed, seqlen).
  std::string calib = "wikitext2", calib_data;
  std::string nan_policy;  // "" = the method's config
  std::string loss_log;    // --log-losses ("" = none)
  std::string profile_trace;  // --profile-trace ("" = none)
  int64_t nsamples = 128, seqlen = 2048, seed = 2;  // OmniQuant/LRQuant defaults (GPTQ: seed 0)
  std::string cache_dir = eval::TokenCache::default_dir();
  bool no_cache = false;
  std::string save_dtype = "auto";
  std::string format = "fake";               // fake | gptq
  std::string checkpoint_format = "gptq";    // gptq: gptq | gptq_v2
  bool fp16_scales = false;
  RuntimeOptions runtime;
  bool overwrite = false;
};

// --config takes inline JSON or @path/to/file.json.
nlohmann::json parse_config_arg(const std::string& arg) {
  const bool from_file = !arg.empty() && arg[0] == '@';
  const std::string text = from_file ? io::read_file(arg.substr(1)) : arg;
  const std::string source = from_file ? "--config " + arg.substr(1) : "--config argument";
  try {  // depth-bounded, numbers in range, and strict like an experiment file: a key given twice is an error
    return parse_json_text(text, source, {/*reject_duplicate_keys=*/true});
  } catch (const JsonSyntaxError& e) {
    throw InputError(fmt::format("{}: not valid JSON (line {}, column {}: {})", source, e.line, e.column, e.detail));
  }
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// quantization.json: what was done, by what, on what.
nlohmann::json quantization_document(const pipeline::ResolvedMethod& method, const quant::QuantSetting& setting,
                                     const nlohmann::json& calibration, const pipeline::Quantized& q,
                                     const pipeline::LoadedModel& lm, const ModelDir& m, c10::ScalarType dtype,
                                     c10::ScalarType save_dtype, c10::Device device) {
  nlohmann::json doc = {{"format_version", quant::kQuantizationFormat},
          {"harness_version", harness_version()},
          {"setting", setting.str()},
          {"setting_detail", setting.to_json()},
          {"method", method.name()},
          {"config", method.config},
          {"calibration", calibration},
          {"activation_quantization",
           {{"linear_input_bits", setting.abits}, {"qkv_bits", setting.kv_bits}, {"symmetric", setting.act_symmetric},
            {"granularity", "dynamic per token (Q/K/V per head and token)"}}},
          {"weights", fmt::format("de-quantized values in model.safetensors ({}); scales and zero points in {}",
                                  dtype_name(save_dtype), quant::kQParamsFile)},
          {"method_summary", q.report.summary},
          {"source_model", {{"dir", m.dir}, {"config_sha256", m.config_sha256}}},
          {"compute_dtype", dtype_name(dtype)},
          {"streamed", lm.streaming.stream},
          {"memory", run::peak_memory(device)},  // peak RSS and GPU memory up to here: load + quantization
          {"seconds", q.seconds},
          {"created", utc_now()},
          {"environment", environment_info(device)}};
  // A plugin's method: which plugin, which build of it (docs/plugins.md).
  if (const plugin::LoadedPlugin* p = plugin::plugin_of_method(method.name()))
    doc["plugin"] = p->provenance();
  return doc;
}

// --format gptq: the packed checkpoint, with one line per note on what the format carries differently.
void write_packed(LlamaModel& model, const pipeline::Quantized& q, const quant::QuantSetting& setting,
                  const nlohmann::json& doc, const std::string& source_dir, const QuantizeOptions& o,
                  c10::ScalarType save_dtype, c10::ScalarType compute_dtype) {
  quant::GptqExportOptions options;
  options.checkpoint_format = o.checkpoint_format;
  options.dtype = save_dtype;
  options.source_dtype = compute_dtype;
  options.overwrite = o.overwrite;
  if (q.adapter)
    fmt::print(stderr, "note: {}'s evaluation-time adaptation is applied when ptqbench evaluates in memory; no "
               "checkpoint carries it\n", doc.value("method", "the method"));
  const quant::GptqExport e = quant::write_gptq_checkpoint(model, q.report.qparams, setting, doc, source_dir, o.out_dir, options);
  for (const std::string& note : e.notes) fmt::print(stderr, "note: {}\n", note);
}

void run_quantize(const QuantizeOptions& o) {
  // Everything about the request is checked before the (possibly long) model load.
  check_calibration_size(o.nsamples, o.seqlen, "--nsamples", "--seqlen", "--nsamples x --seqlen");
  nlohmann::json overrides = parse_config_arg(o.config);
  if (!o.nan_policy.empty()) overrides["nan_policy"] = o.nan_policy;
  const pipeline::ResolvedMethod method = pipeline::resolve_method(o.method, overrides);
  if (!method.method) throw InputError("--method fp: nothing to quantize (evaluate the checkpoint with `ptqbench eval`)");
  const quant::QuantSetting setting = quant::QuantSetting::parse(o.setting);
  const ModelDir m = inspect_model_dir(o.model_dir);
  setting.validate_for(m.config);
  if (o.format == "gptq") {
    quant::check_gptq_exportable(setting, "--format gptq");
    quant::check_gptq_checkpoint_format(o.checkpoint_format);
  }
  // "--calib text:PATH" / "jsonl:PATH[#FIELD]": the dataset and its file in one option.
  std::string calib_dataset = o.calib, calib_data = o.calib_data;
  if (const size_t colon = o.calib.find(':'); colon != std::string::npos) {
    if (!o.calib_data.empty()) throw InputError(fmt::format("--calib {} already names its file: drop --calib-data", o.calib));
    calib_dataset = o.calib.substr(0, colon);
    calib_data = o.calib.substr(colon + 1);
  }
  const pipeline::CalibrationRequest calib{calib_dataset, calib_data, o.nsamples, o.seqlen, o.seed};
  pipeline::check_model_support(method, m.config, setting, calib.seqlen);  // the architecture, before any data
  std::optional<Tokenizer> tokenizer;
  pipeline::check_calibration_data(method, calib);  // fail before loading anything
  if (method.needs_calibration) {
    if (!m.tokenizer_path) throw InputError(fmt::format("{}: calibration needs the model's tokenizer (tokenizer.model or tokenizer.json)", m.dir));
    tokenizer = load_model_tokenizer(m);
  }
  recon::start_log_file(o.loss_log, "--log-losses");  // an unwritable path fails before the model loads
  recon::start_log_file(o.profile_trace, "--profile-trace");  // removed again: the first unit to train writes it
  if (!o.profile_trace.empty()) fs::remove(o.profile_trace);
  const auto [threads, device, dtype, stream, activations] = apply_runtime_options(o.runtime);
  const c10::ScalarType save_dtype = o.save_dtype == "auto" ? dtype : parse_dtype(o.save_dtype, device);

  const std::optional<eval::CalibrationSet> calibration = pipeline::sample_calibration(
      method, calib, tokenizer ? &*tokenizer : nullptr, eval::TokenCache(o.no_cache ? "" : o.cache_dir), m.dir);
  nlohmann::json calibration_doc = nullptr;
  if (calibration)
    calibration_doc = {{"dataset", calib_dataset}, {"n", o.nsamples}, {"seqlen", o.seqlen}, {"seed", o.seed},
                       {"provenance", calibration->provenance}};
  // A streamed model's quantized blocks rest in a spill directory beside the output until it is written.
  const fs::path out_path = fs::absolute(o.out_dir);
  const fs::path spill = out_path.parent_path() / fmt::format(".{}.spill-{}", out_path.filename().string(), ::getpid());
  struct RemoveOnExit {
    fs::path dir;
    ~RemoveOnExit() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_spill{spill};
  pipeline::LoadedModel lm = pipeline::load_model(m.dir, dtype, device, stream, spill.string());
  if (lm.streaming.stream) fmt::print(stderr, "{}: {}\n", m.dir, lm.streaming.reason);
  pipeline::QuantizeRequest request;
  request.setting = setting;
  request.calibration = calibration ? &calibration->windows : nullptr;
  request.activations = activations;
  request.loss_log = o.loss_log;
  request.profile_trace = o.profile_trace;
  pipeline::Quantized q = pipeline::quantize(lm.model, method, request);
  if (o.fp16_scales) quant::round_scales_to_fp16(lm.model, q.report.qparams, setting);

  nlohmann::json doc = quantization_document(method, setting, calibration_doc, q, lm, m, dtype, save_dtype, device);
  doc["fp16_scales"] = o.fp16_scales;
  doc["size"] = quant::packed_size_json(lm.model.config(), setting);  // on disk in the GPTQ format; after the method (LET biases)
  if (o.format == "gptq") {
    write_packed(lm.model, q, setting, doc, m.dir, o, o.save_dtype == "auto" ? at::kHalf : save_dtype, dtype);
  } else {
    quant::write_quantized_checkpoint(lm.model, o.out_dir, save_dtype, doc, q.report, m.dir, o.overwrite);
  }
  fmt::print("{}: {} at {} in {:.1f} s -> {}{}\n", m.dir, method.name(), setting.str(), q.seconds, o.out_dir,
             o.format == "gptq" ? " (GPTQ format)" : "");
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto opts = std::make_shared<QuantizeOptions>();
  auto* cmd = app.add_subcommand("quantize", "Quantize a checkpoint with a method at a setting (ptqbench ls methods|settings)");
  cmd->add_option("--model", opts->model_dir, "Checkpoint directory")->required();
  cmd->add_option("--method", opts->method, "Method name (ptqbench ls methods)")->required();
  cmd->add_option("--setting", opts->setting, "Setting in the papers' notation, e.g. W4A16g128, W4A4")->required();
  cmd->add_option("--config", opts->config, "Method config overrides: JSON text or @file.json")->capture_default_str();
  cmd->add_option("--out", opts->out_dir, "Output directory (a loadable HF checkpoint)")->required();
  cmd->add_flag("--overwrite", opts->overwrite, "Replace an existing output directory");
  cmd->add_option("--format", opts->format,
                  "fake: de-quantized weights + quant_params.safetensors (ptqbench's); gptq: packed integers in the "
                  "GPTQ checkpoint format (weight-only settings at 2, 3, 4, 8 bits) that vLLM, SGLang, GPTQModel and "
                  "transformers load")
      ->check(one_of({"fake", "gptq"}))
      ->capture_default_str();
  cmd->add_option("--checkpoint-format", opts->checkpoint_format,
                  "--format gptq: gptq (AutoGPTQ v1, zero - 1 stored; what vLLM, SGLang and transformers read) or gptq_v2 "
                  "(GPTQModel)")
      ->check(one_of({"gptq", "gptq_v2"}))
      ->capture_default_str();
  cmd->add_flag("--fp16-scales", opts->fp16_scales,
                "Round every scale to float16 and re-derive the weights from it, so that the fake-quant checkpoint "
                "equals its GPTQ export bit for bit");
  add_runtime_options(cmd, opts->runtime);
  cmd->add_option("--log-losses", opts->loss_log,
                  "Write the loss of every training step as JSON lines (unit, epoch, step, loss) to this file: "
                  "for side-by-side comparisons (scripts/compare-released)");
  cmd->add_option("--profile-trace", opts->profile_trace,
                  "Write a Chrome trace of the first block's training steps (LibTorch's profiler: every op and "
                  "autograd node) to this file; scripts/profile-summary gives the time per op and step");
  cmd->add_option("--nan-policy", opts->nan_policy,
                  "NaN/Inf training loss: stop (default) or skip-block (that block keeps RTN; a CBQ window keeps the parameters it started with); sets the config key nan_policy")
      ->check(one_of({"stop", "skip-block"}));
  cmd->add_option("--calib", opts->calib, "Calibration dataset: wikitext2, c4, text, jsonl; or text:PATH, jsonl:PATH[#FIELD] (methods that calibrate)")->capture_default_str();
  cmd->add_option("--calib-data", opts->calib_data, "Its data: wiki.train.raw / c4-train shard (or their directory), a text file, JSON lines (PATH or PATH#FIELD)");
  cmd->add_option("--nsamples", opts->nsamples, "Calibration windows")->capture_default_str();
  cmd->add_option("--seqlen", opts->seqlen, "Calibration window length in tokens")->capture_default_str();
  cmd->add_option("--seed", opts->seed, "random.seed of the window draw (OmniQuant 2, GPTQ 0)")->capture_default_str();
  cmd->add_option("--cache-dir", opts->cache_dir, "Token stream cache")->capture_default_str();
  cmd->add_flag("--no-cache", opts->no_cache, "Tokenize again, do not read or write the cache");
  cmd->add_option("--save-dtype", opts->save_dtype, "dtype of the written weights (auto = the compute dtype; float16 with --format gptq)")
      ->check(one_of({"auto", "fp32", "fp16", "bf16", "float32", "float16", "bfloat16"}))
      ->capture_default_str();
  cmd->callback([opts] { run_quantize(*opts); });
}

}  // namespace ptq::cli
