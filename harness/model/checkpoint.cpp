#include "harness/model/checkpoint.h"

#include "harness/io/files.h"
#include "harness/model/block_storage.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace ptq {

namespace {

// Buffers some conversions stored with the weights; they are recomputed from the config, never read.
bool is_ignorable(const std::string& name) {
  static const std::regex inv_freq(R"(model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq)");
  return std::regex_match(name, inv_freq);
}

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

std::atomic<bool> g_allow_nonfinite{false};

// What a tensor is for, in the words of the dtype message.
std::string role_of(const std::string& name) {
  if (ends_with(name, "norm.weight") || ends_with(name, "norm.bias")) return "a norm weight";
  if (name == "model.embed_tokens.weight") return "the token embedding";
  if (name == "lm_head.weight") return "the lm_head weight";
  if (ends_with(name, kActClipTensor)) return "the learned activation clipping";
  if (ends_with(name, ".bias")) return "a linear bias";
  return "a linear weight";
}

}  // namespace

void set_nonfinite_weights_allowed(bool allowed) { g_allow_nonfinite = allowed; }
bool nonfinite_weights_allowed() { return g_allow_nonfinite; }

std::string file_holding(const io::TensorStore& store, const std::string& name) {
  const std::string file = store.file_of(name);
  return file.empty() ? "checkpoint" : file;
}

void check_checkpoint_dtypes(const io::TensorStore& store, const LlamaConfig& config) {
  for (const auto& [name, shape] : expected_tensors(config)) {
    if (!store.contains(name)) continue;  // check_checkpoint names it
    const std::string& dtype = store.info(name).dtype;
    if (!io::safetensors_dtype_is_float(dtype))
      throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected a floating-point dtype (F32, F16, BF16) for {}",
                                   file_holding(store, name), name, dtype, role_of(name)));
  }
}

// Hugging Face transformers (>= 4.54) ties unconditionally: a stored lm_head.weight is overwritten by the
// embedding, whatever it holds (transformers PR #42612, which would have kept a differing head, was
// closed unmerged). A head that differs means the checkpoint contradicts its config - which of the two
// did the author evaluate? - so it is refused rather than silently dropped; an identical copy (some
// exporters write one) is harmless and accepted.
void check_tied_head(const io::TensorStore& store, const LlamaConfig& config, const std::string& config_path) {
  const std::string head = "lm_head.weight", embed = "model.embed_tokens.weight";
  if (!config.tie_word_embeddings || !store.contains(head) || !store.contains(embed)) return;
  const auto& h = store.info(head);
  const auto& e = store.info(embed);
  std::string why;
  if (h.dtype != e.dtype) why = fmt::format("dtype {} vs {}", h.dtype, e.dtype);
  else if (h.shape != e.shape) why = fmt::format("shape {} vs {}", shape_str(h.shape), shape_str(e.shape));
  else {
    const at::Tensor a = store.load(head), b = store.load(embed);
    if (std::memcmp(a.data_ptr(), b.data_ptr(), h.nbytes()) == 0) return;
    why = "different values";
  }
  throw InputError(fmt::format("{}: tie_word_embeddings is true, but {} also holds an lm_head.weight that differs from "
                               "model.embed_tokens.weight ({}); set tie_word_embeddings to false to use the stored head, "
                               "or remove lm_head.weight to tie it to the embedding", config_path,
                               file_holding(store, head), why));
}

void check_finite_weight(const at::Tensor& t, const std::string& name, const std::string& file) {
  if (!at::isFloatingType(t.scalar_type()) || t.numel() == 0) return;
  // A double-precision sum of finite F32/F16/BF16 values is finite, NaN and Inf propagate: the sum is
  // finite iff every element is. In chunks, because sum(dtype=double) casts a copy of its input first
  // (aminmax has no Half kernel on the CPU in LibTorch 1.13). An F64 sum can overflow: the exact count decides.
  constexpr int64_t kChunk = int64_t{1} << 20;
  const at::Tensor flat = t.reshape({-1});
  bool finite = true;
  for (int64_t i = 0; finite && i < flat.numel(); i += kChunk)
    finite = std::isfinite(flat.slice(0, i, std::min(i + kChunk, flat.numel())).sum(at::kDouble).item<double>());
  if (finite) return;
  const at::Tensor bad = at::logical_not(at::isfinite(flat));
  const int64_t count = bad.sum().item<int64_t>();
  if (count == 0) return;
  int64_t rest = bad.nonzero()[0][0].item<int64_t>();
  const double value = flat[rest].item<double>();
  std::vector<int64_t> index(static_cast<size_t>(t.dim()));
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    index[static_cast<size_t>(d)] = rest % t.size(d);
    rest /= t.size(d);
  }
  throw InputError(fmt::format("{}: tensor '{}' has {} non-finite value(s) of {} (first: {} at {}); weights must be "
                               "finite (--allow-nonfinite loads them anyway)", file, name, count, t.numel(), value,
                               shape_str(index)));
}

void check_tokenizer_fits(const Tokenizer& tokenizer, const LlamaConfig& config, const std::string& config_path) {
  if (tokenizer.vocab_size() <= config.vocab_size) return;  // fewer ids than embedding rows is common (padding)
  throw InputError(fmt::format("{}: tokenizer ids go up to {}, but the model's vocab_size is {} ({}): ids {} and up "
                               "have no embedding row; expected the model's own tokenizer", tokenizer.path(),
                               tokenizer.vocab_size() - 1, config.vocab_size, config_path, config.vocab_size));
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const LlamaConfig& c) {
  const int64_t h = c.hidden_size, ffn = c.intermediate_size;
  std::vector<std::pair<std::string, std::vector<int64_t>>> out = {{"model.embed_tokens.weight", {c.vocab_size, h}}};
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = fmt::format("model.layers.{}.", i);
    out.push_back({p + "input_layernorm.weight", {h}});
    out.push_back({p + "post_attention_layernorm.weight", {h}});
    if (c.norm_bias) {
      out.push_back({p + "input_layernorm.bias", {h}});
      out.push_back({p + "post_attention_layernorm.bias", {h}});
    }
    // Learned clipping of the activation hooks (not a block tensor: ptq/ reads it back into the hooks).
    if (c.act_clip) out.push_back({p + kActClipTensor, {kLinearInputSites}});
    if (c.qk_norm) {  // qwen3
      out.push_back({p + "self_attn.q_norm.weight", {c.head_dim}});
      out.push_back({p + "self_attn.k_norm.weight", {c.head_dim}});
    }
    const std::tuple<const char*, int64_t, int64_t, bool> linears[] = {
        {"self_attn.q_proj", c.q_dim(), h, c.has_q_bias()},  {"self_attn.k_proj", c.kv_dim(), h, c.has_q_bias()},
        {"self_attn.v_proj", c.kv_dim(), h, c.has_q_bias()}, {"self_attn.o_proj", h, c.q_dim(), c.has_o_bias()},
        {"mlp.gate_proj", ffn, h, c.mlp_bias},                 {"mlp.up_proj", ffn, h, c.mlp_bias},
        {"mlp.down_proj", h, ffn, c.mlp_bias}};
    for (const auto& [name, out_f, in_f, has_bias] : linears) {
      out.push_back({p + name + ".weight", {out_f, in_f}});
      if (has_bias) out.push_back({p + name + ".bias", {out_f}});
    }
  }
  out.push_back({"model.norm.weight", {h}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {c.vocab_size, h}});
  return out;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> linear_shapes(const LlamaConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (auto& [name, shape] : expected_tensors(c))
    if (ends_with(name, "_proj.weight")) out.emplace_back(name.substr(0, name.size() - 7), std::move(shape));
  return out;
}

CheckpointCheck check_checkpoint(const io::TensorStore& store, const LlamaConfig& config) {
  CheckpointCheck check;
  std::set<std::string> wanted;
  for (const auto& [name, shape] : expected_tensors(config)) {
    wanted.insert(name);
    if (!store.contains(name)) {
      check.missing.push_back(name);
      continue;
    }
    const auto& info = store.info(name);
    if (info.shape != shape)
      check.misshaped.push_back(fmt::format("{}: {} in file, expected {}", name, shape_str(info.shape), shape_str(shape)));
  }
  for (const auto& name : store.names()) {
    if (wanted.count(name)) continue;
    // A tied checkpoint may still carry a copy of lm_head; HF ignores it in favour of the embedding.
    if (is_ignorable(name) || (config.tie_word_embeddings && name == "lm_head.weight"))
      check.ignored.push_back(name);
    else
      check.unexpected.push_back(name);
  }
  return check;
}

std::string CheckpointCheck::describe(const std::string& dir) const {
  const auto first = [](const std::vector<std::string>& v) {
    std::vector<std::string> head(v.begin(), v.begin() + std::min<size_t>(v.size(), 3));
    return join(head, ", ") + (v.size() > 3 ? fmt::format(" (+{} more)", v.size() - 3) : "");
  };
  std::vector<std::string> parts;
  if (!missing.empty()) parts.push_back(fmt::format("{} missing tensor(s): {}", missing.size(), first(missing)));
  if (!misshaped.empty()) parts.push_back(fmt::format("{} mis-shaped tensor(s): {}", misshaped.size(), first(misshaped)));
  if (!unexpected.empty())
    parts.push_back(fmt::format("{} unexpected tensor(s): {}", unexpected.size(), first(unexpected)));
  return fmt::format("{}: checkpoint does not match its config.json: {}", dir, join(parts, "; "));
}

std::string model_config_path(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(fmt::format("model directory not found: {}", dir));
  const std::string config_path = (fs::path(dir) / "config.json").string();
  io::require_file(config_path, "model config");
  return config_path;
}

LlamaModel load_llama(const std::string& dir, const LoadOptions& options) {
  model_config_path(dir);
  return load_llama(dir, io::TensorStore::open_dir(dir), options);
}

LlamaModel load_llama(const std::string& dir, io::TensorStore store, const LoadOptions& options) {
  const std::string config_path = model_config_path(dir);
  LlamaModel model(LlamaConfig::from_file(config_path));
  const auto check = check_checkpoint(store, model.config());
  if (!check.ok()) throw InputError(check.describe(dir));
  check_checkpoint_dtypes(store, model.config());
  check_tied_head(store, model.config(), config_path);

  for (size_t i = 0; i < model.num_blocks(); ++i) prepare_block_slots(model.block_in_place(i), model.config());
  const auto shared = std::make_shared<const io::TensorStore>(std::move(store));
  // Streamed: the blocks stay in the store (checked as each is read), and named_tensors() lists only the rest.
  if (options.stream)
    model.rest_blocks_in(std::make_shared<BlockStorage>(shared, model.num_blocks(), options.spill_dir, options.allow_nonfinite));
  for (auto& [name, slot] : model.named_tensors()) {
    const at::Tensor stored = shared->load(name);
    if (!options.allow_nonfinite) check_finite_weight(stored, name, file_holding(*shared, name));
    *slot = stored.to(options.device, options.dtype);
  }
  if (model.config().tie_word_embeddings) model.lm_head = model.embed_tokens;
  return model;
}

void save_llama(LlamaModel& model, const std::string& dir, at::ScalarType storage_dtype,
                const std::map<std::string, std::string>& metadata) {
  const size_t hooks_saving = model.blocks_saving_hook_tensors();
  if (hooks_saving != 0 && hooks_saving != model.num_blocks())  // load_llama expects them in every block
    throw std::logic_error(fmt::format("save_llama: the activation hooks of {} of {} blocks save tensors (all or none)",
                                       hooks_saving, model.num_blocks()));
  fs::create_directories(dir);
  std::vector<io::LazyTensor> tensors;
  const auto add = [&](const std::string& name, const at::Tensor& t) {
    tensors.push_back({name, storage_dtype, t.sizes().vec(), [t, storage_dtype] { return t.to(at::kCPU, storage_dtype); }});
  };
  for (auto& [name, slot] : model.named_tensors()) add(name, *slot);  // a streamed model: all but its resting blocks
  for (size_t i = 0; i < model.num_blocks(); ++i)
    if (const ActivationHookPtr& hook = model.activation_hook(i))
      for (const auto& [suffix, t] : hook->saved_tensors()) add(fmt::format("model.layers.{}.{}", i, suffix), t);
  if (model.streamed()) {
    // Resting blocks are read one at a time (the file's name order keeps each block's tensors together).
    struct Cached {
      int64_t index = -1;
      DecoderBlock block;
    };
    auto cache = std::make_shared<Cached>();
    std::set<std::string> listed;
    for (const auto& t : tensors) listed.insert(t.name);
    const std::string layers = "model.layers.";
    for (const auto& [name, shape] : expected_tensors(model.config())) {
      if (listed.count(name) || name.compare(0, layers.size(), layers) != 0 || ends_with(name, kActClipTensor)) continue;
      const size_t dot = name.find('.', layers.size());
      const int64_t i = std::stoll(name.substr(layers.size(), dot - layers.size()));
      const std::string suffix = name.substr(dot + 1);
      tensors.push_back({name, storage_dtype, shape, [&model, cache, i, suffix, storage_dtype]() -> at::Tensor {
                           if (cache->index != i) {
                             cache->block = model.block(static_cast<size_t>(i));
                             cache->index = i;
                           }
                           for (auto& [s, t] : cache->block.named_tensors())
                             if (s == suffix) return t->to(at::kCPU, storage_dtype);
                           throw std::logic_error(fmt::format("save_llama: block {} has no {}", i, suffix));
                         }});
    }
  }
  auto config = model.config().to_json();
  config.erase("ptqbench_act_clip");  // the hooks decide (a loaded model has none until ptq/ gives them)
  if (hooks_saving != 0) config["ptqbench_act_clip"] = true;
  config["torch_dtype"] = storage_dtype == at::kHalf ? "float16" : storage_dtype == at::kBFloat16 ? "bfloat16" : "float32";
  io::write_safetensors_lazy((fs::path(dir) / "model.safetensors").string(), std::move(tensors), metadata);
  io::write_file_atomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
}

}  // namespace ptq
