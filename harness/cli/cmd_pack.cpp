// `ptqbench pack DIR --format gptq -o OUT`: an existing fake-quantized checkpoint (what `ptqbench quantize`
// writes by default: de-quantized weights + quant_params.safetensors + quantization.json) written again in
// the packed GPTQ format (ptq/gptq_export.h), without running the method again. `export` stays the results
// exporter.
#include "harness/cli/choices.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_dir.h"
#include "harness/cli/runtime_options.h"
#include "harness/io/files.h"
#include "harness/io/safetensors.h"
#include "harness/pipeline/quantize.h"
#include "harness/ptq/gptq_export.h"
#include "harness/ptq/quantized_checkpoint.h"
#include "harness/util/errors.h"
#include "harness/util/runtime.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <memory>

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

struct PackOptions {
  std::string dir, format = "gptq", out_dir, checkpoint_format = "gptq", save_dtype = "fp16";
  bool overwrite = false;
  RuntimeOptions runtime;
};

// The quantizer's parameters of a fake-quant checkpoint, validated against its model (issue #29's checks).
std::vector<std::pair<std::string, at::Tensor>> read_qparams(const ModelDir& m, const quant::QuantSetting& setting) {
  const std::string path = (fs::path(m.dir) / quant::kQParamsFile).string();
  if (quant::validate_quant_params(m.dir, m.config, setting) == 0)
    throw InputError(fmt::format("{}: not found; pack needs the quantizer's scales and zero points that `ptqbench "
                                 "quantize` writes beside the weights", path));
  const io::SafetensorsFile file(path);
  std::vector<std::pair<std::string, at::Tensor>> qparams;
  for (const auto& t : file.tensors()) qparams.emplace_back(t.name, file.load(t.name));
  return qparams;
}

c10::ScalarType stored_dtype(const ModelDir& m) {
  const io::SafetensorsFile weights((fs::path(m.dir) / "model.safetensors").string());
  const auto& t = weights.tensors().front();
  return t.dtype == "F16" ? at::kHalf : t.dtype == "BF16" ? at::kBFloat16 : at::kFloat;
}

void run_pack(const PackOptions& o) {
  const ModelDir m = inspect_model_dir(o.dir);
  const auto info = quant::read_quantization_info(m.dir);
  if (!info)
    throw InputError(fmt::format("{}: no {}; pack reads a checkpoint that `ptqbench quantize` wrote (its scales and "
                                 "zero points)", m.dir, quant::kQuantizationFile));
  if (info->document.value("format", "fake") != "fake")
    throw InputError(fmt::format("{}: already packed (format {} in {})", m.dir, info->document["format"].dump(),
                                 quant::kQuantizationFile));
  quant::check_gptq_exportable(info->setting, m.dir);
  quant::check_gptq_checkpoint_format(o.checkpoint_format);
  const auto qparams = read_qparams(m, info->setting);
  const std::string stream = apply_runtime_options(o.runtime).stream;
  // float32 on the CPU whatever --dtype says: the integers are recovered from the stored values exactly.
  pipeline::LoadedModel lm = pipeline::load_model(m.dir, at::kFloat, at::kCPU, stream, "");  // no block changes
  quant::GptqExportOptions options;
  options.checkpoint_format = o.checkpoint_format;
  options.dtype = parse_dtype(o.save_dtype, at::kCPU);
  options.source_dtype = stored_dtype(m);
  options.overwrite = o.overwrite;
  options.out_option = "-o";
  nlohmann::json doc = info->document;
  doc["packed_from"] = m.dir;
  const quant::GptqExport e = quant::write_gptq_checkpoint(lm.model, qparams, info->setting, doc, m.dir, o.out_dir, options);
  for (const std::string& note : e.notes) fmt::print(stderr, "note: {}\n", note);
  fmt::print("{}: {} at {} packed ({} linears, checkpoint_format {}) -> {}\n", m.dir, info->method, info->setting.str(),
             e.linears_packed, e.checkpoint_format, o.out_dir);
}

}  // namespace

void add_pack_command(CLI::App& app) {
  auto opts = std::make_shared<PackOptions>();
  auto* cmd = app.add_subcommand("pack", "Write a fake-quantized checkpoint (ptqbench quantize --out) as packed integers "
                                         "in the GPTQ format that serving stacks load");
  cmd->add_option("dir", opts->dir, "Checkpoint written by `ptqbench quantize` (weights + quant_params.safetensors)")->required();
  cmd->add_option("--format", opts->format, "Packed format")->check(one_of({"gptq"}))->capture_default_str();
  cmd->add_option("-o,--out", opts->out_dir, "Output directory")->required();
  cmd->add_flag("--overwrite", opts->overwrite, "Replace an existing output directory");
  cmd->add_option("--checkpoint-format", opts->checkpoint_format,
                  "gptq (AutoGPTQ v1, zero - 1 stored; what vLLM, SGLang and transformers read) or gptq_v2 (GPTQModel)")
      ->check(one_of({"gptq", "gptq_v2"}))
      ->capture_default_str();
  cmd->add_option("--save-dtype", opts->save_dtype, "dtype of the tensors that are not packed (scales are float16)")
      ->check(one_of({"fp32", "fp16", "bf16", "float32", "float16", "bfloat16"}))
      ->capture_default_str();
  add_runtime_options(cmd, opts->runtime);
  cmd->callback([opts] { run_pack(*opts); });
}

}  // namespace ptq::cli
