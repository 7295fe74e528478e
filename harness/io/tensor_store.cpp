#include "harness/io/tensor_store.h"

#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

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

const TensorInfo& TensorStore::info(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw InputError(fmt::format("checkpoint has no tensor '{}'", name));
  return *it->second->find(name);
}

at::Tensor TensorStore::load(const std::string& name) const {
  const auto it = where_.find(name);
  if (it == where_.end()) throw InputError(fmt::format("checkpoint has no tensor '{}'", name));
  return it->second->load(name);
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, file] : where_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t TensorStore::total_bytes() const {
  uint64_t n = 0;
  for (const auto& f : files_)
    for (const auto& t : f->tensors()) n += t.nbytes();
  return n;
}

}  // namespace ptq::io
