// All safetensors files of one Hugging Face checkpoint directory, as one name -> tensor map:
// either `model.safetensors`, or the shards listed by `model.safetensors.index.json`.
// Opening reads only headers; tensors are copied out on demand.
//
// A store may also hold derived tensors: a name with its TensorInfo (dtype and shape of what is produced;
// no offsets) computed on demand from stored tensors (a packed GPTQ linear's dequantized `.weight`,
// ptq/gptq_checkpoint.h). The stored tensors a derived one replaces are its sources: hidden from
// names(), contains(), info() and load(), so that every reader sees the checkpoint as if it held the
// derived tensors; the stored_* accessors still reach them (the derived loaders, `info`'s sizes).
#pragma once

#include "harness/io/safetensors.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace ptq::io {

class TensorStore;

struct DerivedTensor {
  TensorInfo info;                   // name, dtype and shape of what `load` returns (begin/end unused)
  std::vector<std::string> sources;  // stored tensors it replaces (hidden from then on)
  // Produces the tensor from the store it was added to (so that a moved store stays valid).
  std::function<at::Tensor(const TensorStore&)> load;
};

class TensorStore {
 public:
  // Throws InputError for a directory without safetensors, a malformed index, a shard that is missing,
  // a tensor listed in the index but absent from its shard, or a tensor present in two shards.
  static TensorStore open_dir(const std::string& dir);

  // The tensors as readers see them: stored ones not hidden, plus derived ones.
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;
  at::Tensor load(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  // The file holding a stored tensor, or the first source of a derived one ("" when neither: messages).
  std::string file_of(const std::string& name) const;

  // The tensors as the files hold them, hidden sources included.
  bool contains_stored(const std::string& name) const { return where_.count(name) > 0; }
  const TensorInfo& stored_info(const std::string& name) const;
  at::Tensor load_stored(const std::string& name) const;
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  uint64_t total_bytes() const;  // of the stored tensors (what the files hold)

  // std::logic_error when the name is already visible, or a source is not stored or already hidden.
  void add_derived(DerivedTensor tensor);
  bool is_derived(const std::string& name) const { return derived_.count(name) > 0; }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, const SafetensorsFile*> where_;
  std::map<std::string, DerivedTensor> derived_;
  std::set<std::string> hidden_;
};

}  // namespace ptq::io
