// All safetensors files of one Hugging Face checkpoint directory, as one name -> tensor map:
// either `model.safetensors`, or the shards listed by `model.safetensors.index.json`.
// Opening reads only headers; tensors are copied out on demand.
#pragma once

#include "harness/io/safetensors.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace ptq::io {

class TensorStore {
 public:
  // Throws InputError for a directory without safetensors, a malformed index, a shard that is missing,
  // a tensor listed in the index but absent from its shard, or a tensor present in two shards.
  static TensorStore open_dir(const std::string& dir);

  bool contains(const std::string& name) const { return where_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;
  at::Tensor load(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  uint64_t total_bytes() const;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, const SafetensorsFile*> where_;
};

}  // namespace ptq::io
