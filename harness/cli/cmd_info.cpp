// `ptqbench info MODEL_DIR`: what a checkpoint is, read from config.json and safetensors headers only
// (instant even for 70B), plus a check of every tensor's name and shape against the config.
#include "harness/cli/commands.h"
#include "harness/cli/model_dir.h"
#include "harness/io/tensor_store.h"
#include "harness/model/checkpoint.h"
#include "harness/model/tokenizer.h"
#include "harness/ptq/gptq_checkpoint.h"
#include "harness/ptq/quantized_checkpoint.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>

namespace ptq::cli {

namespace {

struct InfoOptions {
  std::string model_dir;
  std::string tokenizer;
  bool json = false;
  bool tensors = false;
};

std::string thousands(int64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// Parameter counts as model cards write them: "4.20 M", "6.74 B" (decimal units, three significant digits).
std::string human_count(int64_t v) {
  const double x = static_cast<double>(v);
  if (x >= 1e9) return fmt::format("{:.2f} B", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.2f} M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.2f} K", x / 1e3);
  return std::to_string(v);
}

// The tensors as the files hold them (a packed linear's qweight, not its de-quantized weight), by name.
std::vector<const io::TensorInfo*> stored_tensors(const io::TensorStore& store) {
  std::vector<const io::TensorInfo*> out;
  for (const auto& f : store.files())
    for (const auto& t : f->tensors()) out.push_back(&t);
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  return out;
}

// What `info` says about a packed GPTQ checkpoint: its quantization_config and its bytes on disk.
void print_gptq(const quant::gptq::CheckpointConfig& q, const quant::gptq::PackedBytes& b) {
  fmt::print("gptq         {} bits, group size {}, checkpoint_format {} (zero points stored {}), sym {}, desc_act {}; "
             "kept in floating point: {}\n", q.bits, q.group_size > 0 ? std::to_string(q.group_size) : "-1 (per channel)",
             q.format, q.zero_offset() ? "minus 1" : "as they are", q.sym, q.desc_act,
             q.modules_to_not_convert.empty() ? "none" : join(q.modules_to_not_convert, ", "));
  fmt::print("packed       {} linears: {} on disk vs {} in FP16 ({:.1f}%), {:.3f} bits per weight (scales, zero points "
             "and g_idx included); safetensors files {}\n", b.linears_packed, human_bytes(b.quantized_bytes),
             human_bytes(b.fp16_bytes), b.percent_of_fp16(), b.bits_per_weight(), human_bytes(b.file_bytes));
}

void run_info(const InfoOptions& o) {
  const ModelDir m = inspect_model_dir(o.model_dir, o.tokenizer);
  // A packed GPTQ checkpoint is checked as loading sees it: each packed linear as its de-quantized weight.
  const auto store = quant::gptq::open_model_store(m.dir);
  const auto gptq = quant::gptq::read_checkpoint_config(m.config_path);
  const auto check = check_checkpoint(store, m.config);
  const LlamaConfig& c = m.config;

  const std::vector<const io::TensorInfo*> stored = stored_tensors(store);  // what the files hold
  std::map<std::string, int64_t> dtype_counts;
  for (const auto* t : stored) ++dtype_counts[t->dtype];
  std::vector<std::string> dtypes;
  for (const auto& [d, n] : dtype_counts) dtypes.push_back(fmt::format("{} x{}", d, n));

  nlohmann::json tok = nullptr;
  if (m.tokenizer_path) {
    const auto t = load_model_tokenizer(m);
    tok = {{"path", t.path()},         {"kind", t.kind()},   {"pieces", t.vocab_size()},
           {"bos_id", t.bos_id()},     {"eos_id", t.eos_id()}, {"adds", t.added_tokens_description()},
           {"sha256", t.sha256()}};
  }

  const auto quantization = quant::read_quantization_info(m.dir);
  const size_t qparams = quantization ? quant::validate_quant_params(m.dir, c, quantization->setting) : 0;

  if (o.json) {
    nlohmann::json j = {{"model_dir", m.dir},
                        {"quantization", quantization ? quantization->document : nlohmann::json(nullptr)},
                        {"quant_params_validated", qparams},
                        {"config", c.to_json()},
                        {"config_sha256", m.config_sha256},
                        {"parameters", c.parameter_count()},
                        {"storage", {{"files", store.files().size()}, {"bytes", store.total_bytes()}, {"dtypes", dtype_counts}}},
                        {"tokenizer", tok},
                        {"gptq", gptq ? nlohmann::json{{"quantization_config", gptq->to_json()},
                                                       {"bytes", quant::gptq::packed_bytes(store, *gptq, c).to_json()}}
                                      : nlohmann::json(nullptr)},
                        {"check", {{"ok", check.ok()}, {"missing", check.missing}, {"unexpected", check.unexpected},
                                   {"misshaped", check.misshaped}, {"ignored", check.ignored}}}};
    if (o.tensors) {
      j["tensors"] = nlohmann::json::array();
      for (const auto* t : stored)
        j["tensors"].push_back({{"name", t->name}, {"dtype", t->dtype}, {"shape", t->shape}});
    }
    fmt::print("{}\n", j.dump(2));
  } else {
    const std::string attn = c.num_key_value_heads == c.num_attention_heads
                                 ? "MHA"
                                 : fmt::format("GQA {}:1", c.kv_groups());
    fmt::print("model        {}\n", m.dir);
    fmt::print("architecture llama: {} layers, hidden {}, intermediate {}, vocab {}\n", c.num_hidden_layers,
               c.hidden_size, c.intermediate_size, c.vocab_size);
    fmt::print("attention    {} heads x {}, {} KV heads ({}), rope theta {} (scaling: {}), max positions {}\n",
               c.num_attention_heads, c.head_dim, c.num_key_value_heads, attn, c.rope_theta,
               c.rope_scaling.type == "default" ? "none" : c.rope_scaling.type, c.max_position_embeddings);
    fmt::print("norm         RMSNorm eps {}; tied embeddings: {}\n", c.rms_norm_eps, c.tie_word_embeddings ? "yes" : "no");
    fmt::print("parameters   {} ({})\n", thousands(c.parameter_count()), human_count(c.parameter_count()));
    fmt::print("weights      {} tensors ({}), {} in {} file(s){}\n", stored.size(), join(dtypes, ", "),
               human_bytes(store.total_bytes()), store.files().size(),
               c.torch_dtype.empty() ? "" : fmt::format("; config dtype {}", c.torch_dtype));
    if (m.tokenizer_path)
      fmt::print("tokenizer    {} ({}): {} ids, bos {}, eos {}, tokenizer(text) = {} (sha256 {})\n",
                 tok["path"].get<std::string>(), tok["kind"].get<std::string>(), tok["pieces"].get<int>(),
                 tok["bos_id"].get<int>(), tok["eos_id"].get<int>(), tok["adds"].get<std::string>(),
                 tok["sha256"].get<std::string>().substr(0, 16));
    else
      fmt::print("tokenizer    none (no tokenizer.model or tokenizer.json; pre-tokenized .npy data only)\n");
    if (quantization)
      fmt::print("quantized    {} by {} (config {})\n", quantization->setting.str(), quantization->method,
                 quantization->document.value("config", nlohmann::json::object()).dump());
    if (qparams > 0)
      fmt::print("quant params {}: {} tensors validated (each names a linear, shapes fit group size {}, scales finite "
                 "and > 0, zero points finite integers)\n", quant::kQParamsFile, qparams, quantization->setting.group_size);
    if (gptq) print_gptq(*gptq, quant::gptq::packed_bytes(store, *gptq, c));
    if (o.tensors)
      for (const auto* t : stored)
        fmt::print("  {:<56} {:<5} [{}]\n", t->name, t->dtype, fmt::join(t->shape, ", "));
    fmt::print("check        {}\n", check.ok() ? fmt::format("OK: all {} tensors present with the expected shapes{}",
                                                             expected_tensors(c).size(),
                                                             check.ignored.empty() ? "" : fmt::format(" ({} ignored)", check.ignored.size()))
                                               : "FAILED (see the error below)");
  }
  if (!check.ok()) throw InputError(check.describe(m.dir));
  check_checkpoint_dtypes(store, c);
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand("info", "Describe a Hugging Face Llama checkpoint directory (headers only)");
  cmd->add_option("model_dir", opts->model_dir, "Checkpoint directory (config.json + safetensors)")->required();
  cmd->add_option("--tokenizer", opts->tokenizer, "tokenizer.model, tokenizer.json or a directory holding one (default: the model directory's)");
  cmd->add_flag("--json", opts->json, "Print one JSON object");
  cmd->add_flag("--tensors", opts->tensors, "List every tensor with its dtype and shape");
  cmd->callback([opts] { run_info(*opts); });
}

}  // namespace ptq::cli
