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

constexpr uint64_t kMaxHeaderSize = 100'000'000;  // the reference implementation's MAX_HEADER_SIZE

struct DTypeRow {
  const char* name;
  int bits;
  at::ScalarType torch;  // at::ScalarType::Undefined: valid in files, not loadable here
};

// Every dtype the format defines, so that files holding e.g. F8 tensors are still validated correctly.
const DTypeRow kDTypes[] = {
    {"BOOL", 8, at::kBool},     {"U8", 8, at::kByte},      {"I8", 8, at::kChar},
    {"I16", 16, at::kShort},    {"U16", 16, at::ScalarType::Undefined},
    {"F16", 16, at::kHalf},     {"BF16", 16, at::kBFloat16}, {"I32", 32, at::kInt},
    {"U32", 32, at::ScalarType::Undefined},                 {"F32", 32, at::kFloat},
    {"F64", 64, at::kDouble},   {"I64", 64, at::kLong},    {"U64", 64, at::ScalarType::Undefined},
    {"C64", 64, at::ScalarType::Undefined},
    {"F8_E5M2", 8, at::ScalarType::Undefined},             {"F8_E4M3", 8, at::ScalarType::Undefined},
    {"F8_E8M0", 8, at::ScalarType::Undefined},             {"F8_E4M3FNUZ", 8, at::ScalarType::Undefined},
    {"F8_E5M2FNUZ", 8, at::ScalarType::Undefined},         {"F4", 4, at::ScalarType::Undefined},
    {"F6_E2M3", 6, at::ScalarType::Undefined},             {"F6_E3M2", 6, at::ScalarType::Undefined},
};

const DTypeRow* find_dtype(const std::string& name) {
  for (const auto& row : kDTypes)
    if (name == row.name) return &row;
  return nullptr;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The JSON header as a name -> entry list, rejecting duplicate names (nlohmann keeps the last one
// silently, the reference implementation refuses the file).
json parse_header(const std::string& path, const char* text, size_t n) {
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      auto key = parsed.get<std::string>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, text + n, on_event);
  } catch (const json::parse_error& e) {
    throw InputError(fmt::format("{}: safetensors header is not valid JSON ({}), expected a JSON object",
                                 path, e.what()));
  }
  if (!duplicate.empty())
    throw InputError(fmt::format("{}: tensor '{}' appears twice in the safetensors header", path, duplicate));
  if (!header.is_object())
    throw InputError(fmt::format("{}: safetensors header is not a JSON object", path));
  return header;
}

uint64_t checked_offset(const std::string& path, const std::string& name, const json& v) {
  if (!v.is_number_unsigned())
    throw InputError(fmt::format("{}: tensor '{}' has a non-integer or negative data offset", path, name));
  return v.get<uint64_t>();
}

TensorInfo parse_entry(const std::string& path, const std::string& name, const json& e) {
  const auto bad = [&](const std::string& what) {
    return InputError(fmt::format("{}: tensor '{}' {}", path, name, what));
  };
  if (!e.is_object()) throw bad("is not a JSON object, expected {dtype, shape, data_offsets}");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!e.contains(key)) throw bad(fmt::format("has no '{}'", key));
  TensorInfo t;
  t.name = name;
  if (!e["dtype"].is_string()) throw bad("has a non-string dtype");
  t.dtype = e["dtype"].get<std::string>();
  if (find_dtype(t.dtype) == nullptr) throw bad(fmt::format("has unknown dtype '{}'", t.dtype));
  if (!e["shape"].is_array()) throw bad("has a shape that is not a list");
  for (const auto& d : e["shape"]) {
    if (!d.is_number_unsigned()) throw bad("has a negative or non-integer dimension");
    const auto v = d.get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) throw bad("has a dimension that overflows int64");
    t.shape.push_back(static_cast<int64_t>(v));
  }
  const auto& offsets = e["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) throw bad("data_offsets is not a list [begin, end]");
  t.begin = checked_offset(path, name, offsets[0]);
  t.end = checked_offset(path, name, offsets[1]);
  if (t.end < t.begin) throw bad(fmt::format("has data_offsets end {} < begin {}", t.end, t.begin));
  // dtype x shape must equal the byte length, with overflow checks.
  uint64_t numel = 1;
  for (const auto d : t.shape)
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel)) throw bad("has a shape whose size overflows");
  uint64_t bits = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(find_dtype(t.dtype)->bits), &bits))
    throw bad("has a shape whose size overflows");
  if (bits % 8 != 0) throw bad(fmt::format("has {} bits of {} data, not a whole number of bytes", bits, t.dtype));
  if (bits / 8 != t.nbytes())
    throw bad(fmt::format("has {} bytes of data, expected {} for dtype {} and shape [{}]", t.nbytes(),
                          bits / 8, t.dtype, fmt::join(t.shape, ", ")));
  return t;
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

int safetensors_dtype_bits(const std::string& dtype) {
  const auto* row = find_dtype(dtype);
  return row ? row->bits : 0;
}

std::string safetensors_dtype_name(at::ScalarType type) {
  for (const auto& row : kDTypes)
    if (row.torch == type && type != at::ScalarType::Undefined) return row.name;
  throw std::invalid_argument(fmt::format("dtype {} cannot be stored in safetensors", c10::toString(type)));
}

SafetensorsFile::SafetensorsFile(const std::string& path) : map_(path) {
  const size_t file_size = map_.size();
  if (file_size < 8)
    throw InputError(fmt::format("{}: {} bytes, too short for a safetensors file (needs an 8-byte header length)",
                                 path, file_size));
  const uint64_t n = read_u64_le(map_.data());
  if (n > kMaxHeaderSize)
    throw InputError(fmt::format("{}: header length {} exceeds the safetensors limit of {} bytes", path, n,
                                 kMaxHeaderSize));
  if (n > file_size - 8)
    throw InputError(fmt::format("{}: header length {} runs past the end of the {}-byte file (truncated?)", path,
                                 n, file_size));
  const char* text = reinterpret_cast<const char*>(map_.data() + 8);
  if (n == 0 || text[0] != '{')
    throw InputError(fmt::format("{}: safetensors header must start with '{{'", path));
  data_start_ = 8 + n;
  const json header = parse_header(path, text, n);

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw InputError(fmt::format("{}: __metadata__ is not an object", path));
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          throw InputError(fmt::format("{}: __metadata__ value '{}' is not a string (the format allows only "
                                       "string-to-string metadata)", path, mk));
        metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    tensors_.push_back(parse_entry(path, key, value));
  }

  // Tensors must tile the byte buffer exactly: sorted by offset, each starts where the previous ended,
  // and the last one ends at the end of the file (no holes, no trailing bytes).
  std::stable_sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const auto& t : tensors_) {
    if (t.begin != expected)
      throw InputError(fmt::format("{}: tensor '{}' starts at byte {} of the data buffer, expected {} "
                                   "(offsets must be contiguous and non-overlapping)", path, t.name, t.begin,
                                   expected));
    expected = t.end;
  }
  const uint64_t buffer_size = file_size - data_start_;
  if (expected != buffer_size)
    throw InputError(fmt::format("{}: tensors cover {} bytes of data but the file holds {} after the header ({})",
                                 path, expected, buffer_size,
                                 expected > buffer_size ? "truncated file" : "trailing bytes"));
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

at::Tensor SafetensorsFile::load(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (t == nullptr) throw InputError(fmt::format("{}: no tensor named '{}'", path(), name));
  const at::ScalarType type = find_dtype(t->dtype)->torch;
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
