// The header of a safetensors file (huggingface/safetensors "Format"), parsed and validated without
// LibTorch: an 8-byte little-endian length N, N bytes of JSON
// (`{"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}`, space padded), then the
// byte buffer the entries tile exactly. The fuzz target tests/fuzz/fuzz_safetensors_header.cpp calls this
// straight from its .cpp, so nothing here may include a LibTorch header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ptq::io {

struct TensorInfo {
  std::string name;
  std::string dtype;            // safetensors dtype name: "F32", "F16", "BF16", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // offsets relative to the start of the byte buffer
  uint64_t nbytes() const { return end - begin; }
  int64_t numel() const;
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in offset order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;          // file offset of the byte buffer (8 + N)
};

// Validates the whole file as the reference implementation does (length, the 100 MB header limit, a JSON
// object, no duplicate names, known dtypes, dtype x shape = byte length without overflow, entries tiling
// the buffer to the end of the file, string-only metadata), plus ptqbench's input limits: at most
// Limit::kSafetensorsTensors tensors, JSON nesting of at most 3 levels (all an entry needs), at most
// kMaxSafetensorsRank dimensions. Linear time in the header size (a SAX pass, no DOM). Every failure is an
// InputError naming `path`, with user values echoed through bounded_excerpt.
SafetensorsHeader parse_safetensors_header(const uint8_t* file, size_t file_size, const std::string& path);

inline constexpr size_t kMaxSafetensorsRank = 64;  // far above any real tensor; bounds a hostile shape list

// Bits per element of a safetensors dtype name; 0 when the name is unknown.
int safetensors_dtype_bits(const std::string& dtype);
// Whether a safetensors dtype name is a floating-point type LibTorch computes in (F64, F32, F16, BF16).
bool safetensors_dtype_is_float(const std::string& dtype);

}  // namespace ptq::io
