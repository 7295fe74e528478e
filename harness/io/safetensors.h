// safetensors files (huggingface/safetensors "Format"): an 8-byte little-endian header length N, N bytes
// of JSON (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}`, space padded),
// then the byte buffer. The reader memory-maps the file, validates it the way the reference
// implementation does, and copies tensors out one at a time (lazy loading).
#pragma once

#include "harness/io/mapped_file.h"
#include "harness/io/safetensors_header.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ptq::io {

class SafetensorsFile {
 public:
  // Maps and validates the file (parse_safetensors_header); throws InputError naming the file and the rule
  // it breaks.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return map_.path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file (offset) order
  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Copies one tensor out of the map, in its stored dtype; throws InputError for unknown names or
  // dtypes LibTorch cannot represent. The pages are released afterwards.
  at::Tensor load(const std::string& name) const;

 private:
  MappedFile map_;
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any device/layout; copied to contiguous CPU) and string metadata atomically.
// `"format": "pt"` is always added to the metadata, as Hugging Face loaders require it.
// `fsync` false for scratch files (io/files.h).
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {}, bool fsync = true);

// A tensor written by write_safetensors_lazy: its header entry up front, its data produced when its turn
// comes (in file order: larger elements first, then by name), so that a streamed model is saved without
// holding it in memory. `produce` must return a tensor of exactly this dtype and shape.
struct LazyTensor {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  std::function<at::Tensor()> produce;
};
void write_safetensors_lazy(const std::string& path, std::vector<LazyTensor> tensors,
                            const std::map<std::string, std::string>& metadata = {}, bool fsync = true);

// The safetensors dtype name of a LibTorch scalar type (throws for types safetensors lacks).
std::string safetensors_dtype_name(at::ScalarType type);

}  // namespace ptq::io
