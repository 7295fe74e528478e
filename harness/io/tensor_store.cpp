#include "harness/io/tensor_store.h"

#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace fs = std::filesystem;

namespace ptq::io {

namespace {

// Shard names come from a file we do not control: never let one escape the checkpoint directory.
void check_shard_name(const std::string& index_path, const std::string& shard) {
  const fs::path p(shard);
  bool escapes = p.is_absolute();
  for (const auto& part : p)
    if (part == "..") escapes = true;
  if (shard.empty() || escapes)
    throw InputError(fmt::format("{}: shard name '{}' is not a file name inside the checkpoint directory",
                                 index_path, shard));
}

}  // namespace

TensorStore TensorStore::open_dir(const std::string& dir) {
  TensorStore store;
  const std::string single = (fs::path(dir) / "model.safetensors").string();
  const std::string index = (fs::path(dir) / "model.safetensors.index.json").string();

  auto add_file = [&](const std::string& path) {
    store.files_.push_back(std::make_unique<SafetensorsFile>(path));
    const SafetensorsFile* f = store.files_.back().get();
    for (const auto& t : f->tensors()) {
      const auto [it, inserted] = store.where_.emplace(t.name, f);
      if (!inserted)
        throw InputError(fmt::format("tensor '{}' is stored twice: in {} and in {}", t.name, it->second->path(), path));
    }
  };

  if (file_exists(index)) {
    const auto json = read_json_file(index);
    if (!json.is_object() || !json.contains("weight_map") || !json["weight_map"].is_object())
      throw InputError(fmt::format("{}: expected an object with a \"weight_map\" object", index));
    std::map<std::string, std::vector<std::string>> by_shard;  // sorted: shards open in a fixed order
    for (const auto& [name, shard] : json["weight_map"].items()) {
      if (!shard.is_string())
        throw InputError(fmt::format("{}: weight_map[\"{}\"] is not a file name string", index, name));
      check_shard_name(index, shard.get<std::string>());
      by_shard[shard.get<std::string>()].push_back(name);
    }
    if (by_shard.empty()) throw InputError(fmt::format("{}: weight_map is empty", index));
    for (const auto& [shard, names] : by_shard) {
      const std::string path = (fs::path(dir) / shard).string();
      require_file(path, fmt::format("shard listed in {}", index));
      add_file(path);
      for (const auto& name : names) {
        const auto it = store.where_.find(name);
        if (it == store.where_.end() || it->second->path() != path)
          throw InputError(fmt::format("{}: index says tensor '{}' is in {}, but that shard does not hold it",
                                       index, name, shard));
      }
    }
  } else if (file_exists(single)) {
    add_file(single);
  } else {
    std::error_code ec;
    const bool has_bin = fs::exists(fs::path(dir) / "pytorch_model.bin", ec) ||
                         fs::exists(fs::path(dir) / "pytorch_model.bin.index.json", ec);
    throw InputError(fmt::format("{}: no model.safetensors or model.safetensors.index.json{}", dir,
                                 has_bin ? " (only pickled pytorch_model*.bin found: convert the checkpoint to "
                                           "safetensors first)"
                                         : ""));
  }
  return store;
}

bool TensorStore::contains(const std::string& name) const {
  return derived_.count(name) > 0 || (where_.count(name) > 0 && hidden_.count(name) == 0);
}

const TensorInfo& TensorStore::info(const std::string& name) const {
  if (const auto d = derived_.find(name); d != derived_.end()) return d->second.info;
  if (hidden_.count(name)) throw InputError(fmt::format("checkpoint has no tensor '{}'", name));
  return stored_info(name);
}

at::Tensor TensorStore::load(const std::string& name) const {
  if (const auto d = derived_.find(name); d != derived_.end()) return d->second.load(*this);
  if (hidden_.count(name)) throw InputError(fmt::format("checkpoint has no tensor '{}'", name));
  return load_stored(name);
}

const TensorInfo& TensorStore::stored_info(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw InputError(fmt::format("checkpoint has no tensor '{}'", name));
  return *it->second->find(name);
}

at::Tensor TensorStore::load_stored(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw InputError(fmt::format("checkpoint has no tensor '{}'", name));
  return it->second->load(name);
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size() + derived_.size());
  for (const auto& [name, file] : where_)
    if (!hidden_.count(name)) out.push_back(name);
  for (const auto& [name, d] : derived_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::string TensorStore::file_of(const std::string& name) const {
  const auto d = derived_.find(name);
  const std::string& stored = d != derived_.end() && !d->second.sources.empty() ? d->second.sources.front() : name;
  const auto it = where_.find(stored);
  return it == where_.end() ? "" : it->second->path();
}

void TensorStore::add_derived(DerivedTensor tensor) {
  const std::string name = tensor.info.name;
  if (contains(name)) throw std::logic_error(fmt::format("TensorStore::add_derived: '{}' already exists", name));
  for (const auto& s : tensor.sources)
    if (!where_.count(s) || hidden_.count(s))
      throw std::logic_error(fmt::format("TensorStore::add_derived: source '{}' of '{}' is not a visible stored tensor", s, name));
  hidden_.insert(tensor.sources.begin(), tensor.sources.end());
  derived_.emplace(name, std::move(tensor));
}

uint64_t TensorStore::total_bytes() const {
  uint64_t n = 0;
  for (const auto& f : files_)
    for (const auto& t : f->tensors()) n += t.nbytes();
  return n;
}

}  // namespace ptq::io
