#include "harness/model/block_storage.h"

#include "harness/io/safetensors.h"
#include "harness/io/tensor_store.h"
#include "harness/model/checkpoint.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq {

BlockStorage::BlockStorage(std::shared_ptr<const io::TensorStore> checkpoint, size_t num_blocks, std::string spill_dir,
                           bool allow_nonfinite)
    : checkpoint_(std::move(checkpoint)), blocks_(num_blocks), spill_dir_(std::move(spill_dir)),
      allow_nonfinite_(allow_nonfinite) {}

at::Tensor BlockStorage::read(size_t i, const std::string& suffix) const {
  const Resting& r = blocks_.at(i);
  if (r.spill) return r.spill->find(suffix) != nullptr ? r.spill->load(suffix) : at::Tensor();
  if (r.host) {
    DecoderBlock b = *r.host;  // shares the tensors; named_tensors() only needs a mutable struct
    for (auto& [name, t] : b.named_tensors())
      if (name == suffix) return *t;
    return {};
  }
  const std::string name = fmt::format("model.layers.{}.{}", i, suffix);
  if (!checkpoint_->contains(name)) return {};
  at::Tensor t = checkpoint_->load(name);
  // Checked here, as the block is read (on the reader's thread), not by a pass over the model at load.
  if (!allow_nonfinite_) check_finite_weight(t, name, file_holding(*checkpoint_, name));
  return t;
}

bool BlockStorage::has(size_t i, const std::string& suffix) const {
  const Resting& r = blocks_.at(i);
  if (r.spill) return r.spill->find(suffix) != nullptr;
  if (r.host) return read(i, suffix).defined();
  return checkpoint_->contains(fmt::format("model.layers.{}.{}", i, suffix));
}

std::string BlockStorage::where(size_t i) const {
  const Resting& r = blocks_.at(i);
  if (r.spill) return r.spill->path();
  if (r.host) return "host memory";
  return fmt::format("checkpoint (model.layers.{}.*)", i);
}

DecoderBlock BlockStorage::load(size_t i, const LlamaConfig& config, c10::Device device, c10::ScalarType dtype) const {
  return place(read_host(i, config), config, device, dtype);
}

DecoderBlock BlockStorage::read_host(size_t i, const LlamaConfig& config) const {
  DecoderBlock b;
  prepare_block_slots(b, config);
  for (auto& [suffix, slot] : b.named_tensors()) *slot = read(i, suffix);
  const auto require = [&](const at::Tensor& t, const char* what) {
    if (!t.defined()) throw InputError(fmt::format("block {} resting in {} has no {}", i, where(i), what));
  };
  require(b.input_layernorm, "input_layernorm.weight");
  require(b.post_attention_layernorm, "post_attention_layernorm.weight");
  const auto ls = b.linears();
  for (size_t k = 0; k < ls.size(); ++k) require(ls[k]->weight, DecoderBlock::kLinearNames[k]);
  if (config.qk_norm) {
    require(b.q_norm, "self_attn.q_norm.weight");
    require(b.k_norm, "self_attn.k_norm.weight");
  }
  return b;
}

DecoderBlock BlockStorage::place(DecoderBlock b, const LlamaConfig& config, c10::Device device, c10::ScalarType dtype) {
  for (auto& [suffix, slot] : b.named_tensors())
    if (slot->defined()) *slot = slot->to(device, dtype);
  const auto options = at::TensorOptions().device(device).dtype(dtype);
  const auto ls = b.linears();
  for (size_t k = 0; k < ls.size(); ++k) {
    // The layout sync_bias_layout gives resident blocks: zeros where a method folded no bias.
    const bool wants_bias = k < 3 ? config.has_q_bias() : k == 3 ? config.has_o_bias() : config.mlp_bias;
    if (wants_bias && !ls[k]->bias.defined()) ls[k]->bias = at::zeros({ls[k]->weight.size(0)}, options);
  }
  if (config.norm_bias) {
    if (!b.input_layernorm_bias.defined()) b.input_layernorm_bias = at::zeros({config.hidden_size}, options);
    if (!b.post_attention_layernorm_bias.defined()) b.post_attention_layernorm_bias = at::zeros({config.hidden_size}, options);
  }
  return b;
}

void BlockStorage::store(size_t i, const DecoderBlock& block) {
  Resting& r = blocks_.at(i);
  DecoderBlock b = block;
  if (spill_dir_.empty()) {
    for (auto& [name, t] : b.named_tensors())
      if (t->defined()) *t = t->detach().to(at::kCPU);  // what is missing is named when it is read
    r = Resting{nullptr, std::make_shared<const DecoderBlock>(std::move(b))};
    return;
  }
  std::error_code ec;
  fs::create_directories(spill_dir_, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create the spill directory {}: {}", spill_dir_, ec.message()));
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, t] : b.named_tensors())
    if (t->defined()) tensors.emplace_back(name, *t);
  const std::string path = (fs::path(spill_dir_) / fmt::format("block_{}.safetensors", i)).string();
  // Scratch for this process only: no fsync (a crash loses nothing a re-run would not redo).
  io::write_safetensors(path, tensors, {{"ptqbench", "spilled block"}, {"layer", std::to_string(i)}}, /*fsync=*/false);
  // An earlier spill of this block may still be mapped by a copy of the model: the atomic rename above
  // left that file's inode alive for it.
  r = Resting{std::make_shared<const io::SafetensorsFile>(path), nullptr};
}

}  // namespace ptq
