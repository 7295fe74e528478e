#include "harness/io/safetensors.h"

#include "harness/io/files.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <set>

namespace ptq::io {

namespace {

using nlohmann::json;

struct TorchDType {
  const char* name;
  at::ScalarType torch;
};

// The safetensors dtypes LibTorch can hold (the format's full table is in safetensors_header.cpp).
const TorchDType kTorchDTypes[] = {
    {"BOOL", at::kBool}, {"U8", at::kByte},  {"I8", at::kChar},      {"I16", at::kShort}, {"F16", at::kHalf},
    {"BF16", at::kBFloat16}, {"I32", at::kInt}, {"F32", at::kFloat}, {"F64", at::kDouble}, {"I64", at::kLong},
};

at::ScalarType torch_dtype(const std::string& name) {
  for (const auto& row : kTorchDTypes)
    if (name == row.name) return row.torch;
  return at::ScalarType::Undefined;
}

}  // namespace

std::string safetensors_dtype_name(at::ScalarType type) {
  for (const auto& row : kTorchDTypes)
    if (row.torch == type) return row.name;
  throw std::invalid_argument(fmt::format("dtype {} cannot be stored in safetensors", c10::toString(type)));
}

SafetensorsFile::SafetensorsFile(const std::string& path) : map_(path) {
  SafetensorsHeader header = parse_safetensors_header(map_.data(), map_.size(), path);
  data_start_ = header.data_start;
  tensors_ = std::move(header.tensors);
  metadata_ = std::move(header.metadata);
  index_.reserve(tensors_.size());
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

at::Tensor SafetensorsFile::load(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (t == nullptr) throw InputError(fmt::format("{}: no tensor named '{}'", path(), name));
  const at::ScalarType type = torch_dtype(t->dtype);
  if (type == at::ScalarType::Undefined)
    throw InputError(fmt::format("{}: tensor '{}' has dtype {}, which this build cannot load (supported: F64, "
                                 "F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", path(), name, t->dtype));
  at::Tensor out = at::empty(t->shape, at::TensorOptions().dtype(type));
  if (t->nbytes() > 0) std::memcpy(out.data_ptr(), map_.data() + data_start_ + t->begin, t->nbytes());
  map_.release(data_start_ + t->begin, t->nbytes());
  return out;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata, bool fsync) {
  std::vector<LazyTensor> lazy;
  lazy.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    const at::Tensor t = tensor.detach();
    lazy.push_back({name, t.scalar_type(), t.sizes().vec(), [t] { return t; }});
  }
  write_safetensors_lazy(path, std::move(lazy), metadata, fsync);
}

void write_safetensors_lazy(const std::string& path, std::vector<LazyTensor> items,
                            const std::map<std::string, std::string>& metadata, bool fsync) {
  std::set<std::string> names;
  for (const auto& it : items)
    if (it.name == "__metadata__" || !names.insert(it.name).second)
      throw std::invalid_argument(fmt::format("write_safetensors({}): duplicate or reserved tensor name '{}'", path,
                                              it.name));
  const auto bits = [](const LazyTensor& t) { return safetensors_dtype_bits(safetensors_dtype_name(t.dtype)); };
  const auto nbytes_of = [&](const LazyTensor& t) {
    uint64_t n = static_cast<uint64_t>(bits(t)) / 8;
    for (const int64_t d : t.shape) n *= static_cast<uint64_t>(d);
    return n;
  };
  // As the reference writer: larger alignment first, then by name (keeps every tensor naturally aligned).
  std::stable_sort(items.begin(), items.end(), [&](const LazyTensor& a, const LazyTensor& b) {
    const int ba = bits(a), bb = bits(b);
    return ba != bb ? ba > bb : a.name < b.name;
  });
  json header = json::object();
  json meta = json::object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  meta["format"] = "pt";
  header["__metadata__"] = meta;
  uint64_t offset = 0;
  for (const auto& it : items) {
    const uint64_t nbytes = nbytes_of(it);
    header[it.name] = {{"dtype", safetensors_dtype_name(it.dtype)}, {"shape", it.shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string head = header.dump();
  head.append((8 - head.size() % 8) % 8, ' ');  // pad so the buffer starts 8-byte aligned
  uint8_t length[8];
  const uint64_t n = head.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>((n >> (8 * i)) & 0xFF);
  AtomicFileWriter out(path, fsync);  // streamed: a 13 GB checkpoint is never assembled in memory
  out.write(length, sizeof length);
  out.write(head.data(), head.size());
  for (const auto& it : items) {
    const at::Tensor data = it.produce().detach().to(at::kCPU).contiguous();
    if (data.scalar_type() != it.dtype || data.sizes().vec() != it.shape)
      throw std::logic_error(fmt::format("write_safetensors({}): '{}' was announced as {} {} but produced as {} {}", path,
                                         it.name, safetensors_dtype_name(it.dtype), json(it.shape).dump(),
                                         safetensors_dtype_name(data.scalar_type()), json(data.sizes().vec()).dump()));
    out.write(data.data_ptr(), nbytes_of(it));
  }
  out.commit();
}

}  // namespace ptq::io
