#include "harness/io/safetensors_header.h"

#include "harness/util/errors.h"
#include "harness/util/input_limits.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_set>

namespace ptq::io {

namespace {

using nlohmann::json;

struct DTypeRow {
  const char* name;
  int bits;
  bool is_float;  // a floating-point type LibTorch computes in
};

// Every dtype the format defines, so that files holding e.g. F8 tensors are still validated correctly.
const DTypeRow kDTypes[] = {
    {"BOOL", 8, false},    {"U8", 8, false},       {"I8", 8, false},         {"I16", 16, false},
    {"U16", 16, false},    {"F16", 16, true},      {"BF16", 16, true},       {"I32", 32, false},
    {"U32", 32, false},    {"F32", 32, true},      {"F64", 64, true},        {"I64", 64, false},
    {"U64", 64, false},    {"C64", 64, false},     {"F8_E5M2", 8, false},    {"F8_E4M3", 8, false},
    {"F8_E8M0", 8, false}, {"F8_E4M3FNUZ", 8, false}, {"F8_E5M2FNUZ", 8, false}, {"F4", 4, false},
    {"F6_E2M3", 6, false}, {"F6_E3M2", 6, false},
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

// One tensor entry as its fields arrive.
struct PendingEntry {
  std::string name;
  bool has_dtype = false, has_shape = false, has_offsets = false;
  std::string dtype;
  std::vector<uint64_t> shape, offsets;
};

// The checks on a complete entry: known dtype, end >= begin, dtype x shape = byte length (overflow-safe).
TensorInfo finish_entry(const std::string& path, PendingEntry& e) {
  const auto bad = [&](const std::string& what) {
    return InputError(fmt::format("{}: tensor '{}' {}", path, bounded_excerpt(e.name), what));
  };
  if (!e.has_dtype) throw bad("has no 'dtype'");
  if (!e.has_shape) throw bad("has no 'shape'");
  if (!e.has_offsets) throw bad("has no 'data_offsets'");
  const DTypeRow* dtype = find_dtype(e.dtype);
  if (dtype == nullptr) throw bad(fmt::format("has unknown dtype '{}'", bounded_excerpt(e.dtype)));
  if (e.offsets.size() != 2) throw bad("data_offsets is not a list [begin, end]");
  TensorInfo t;
  t.name = e.name;  // copied: `bad` still names the entry
  t.dtype = dtype->name;
  t.begin = e.offsets[0];
  t.end = e.offsets[1];
  if (t.end < t.begin) throw bad(fmt::format("has data_offsets end {} < begin {}", t.end, t.begin));
  uint64_t numel = 1;
  for (const uint64_t d : e.shape) {
    if (d > static_cast<uint64_t>(INT64_MAX)) throw bad("has a dimension that overflows int64");
    if (__builtin_mul_overflow(numel, d, &numel)) throw bad("has a shape whose size overflows");
    t.shape.push_back(static_cast<int64_t>(d));
  }
  uint64_t bits = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype->bits), &bits) ||
      numel > static_cast<uint64_t>(INT64_MAX))
    throw bad("has a shape whose size overflows");
  if (bits % 8 != 0) throw bad(fmt::format("has {} bits of {} data, not a whole number of bytes", bits, t.dtype));
  if (bits / 8 != t.nbytes())
    throw bad(fmt::format("has {} bytes of data, expected {} for dtype {} and shape [{}]", t.nbytes(), bits / 8,
                          t.dtype, fmt::join(t.shape, ", ")));
  return t;
}

// A SAX handler that fills the entries as the parser walks the text once: linear time, no DOM, no
// recursion (nlohmann's SAX parser keeps its own stack), and the depth is refused beyond what a header
// needs (1: the header object, 2: an entry or __metadata__, 3: shape / data_offsets) before anything
// deeper is built. nlohmann's callback parser, used before, rescanned the parent object at every
// end_object: 64 000 tensors took over a minute.
class HeaderSax : public nlohmann::json_sax<json> {
 public:
  static constexpr int kMaxDepth = 3;

  HeaderSax(const std::string& path, SafetensorsHeader& out)
      : path_(path), out_(out), max_tensors_(static_cast<uint64_t>(limit_value(Limit::kSafetensorsTensors))) {}

  bool null() override { return scalar(Kind::kOther); }
  bool boolean(bool) override { return scalar(Kind::kOther); }
  bool number_integer(number_integer_t) override { return scalar(Kind::kNegative); }
  bool number_unsigned(number_unsigned_t v) override {
    unsigned_ = v;
    return scalar(Kind::kUnsigned);
  }
  bool number_float(number_float_t, const string_t&) override { return scalar(Kind::kFloat); }
  bool string(string_t& v) override {
    string_ = &v;
    return scalar(Kind::kString);
  }
  bool binary(binary_t&) override { return scalar(Kind::kOther); }

  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_object() override {
    if (depth_ == 2 && !in_metadata_) out_.tensors.push_back(finish_entry(path_, entry_));
    if (depth_ == 2) in_metadata_ = false;
    --depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& k) override;
  bool parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& e) override;

 private:
  enum class Kind { kString, kUnsigned, kNegative, kFloat, kOther };
  enum class Field { kDtype, kShape, kOffsets, kOther };

  InputError entry_error(const std::string& what) const {
    return InputError(fmt::format("{}: tensor '{}' {}", path_, bounded_excerpt(entry_.name), what));
  }
  InputError metadata_error() const {
    return InputError(fmt::format("{}: __metadata__ value '{}' is not a string (the format allows only "
                                  "string-to-string metadata)", path_, bounded_excerpt(metadata_key_)));
  }
  bool open(bool object);
  bool scalar(Kind kind);
  void value_at_depth_1() const;

  const std::string& path_;
  SafetensorsHeader& out_;
  const uint64_t max_tensors_;
  int depth_ = 0;
  bool in_metadata_ = false;
  std::string top_key_, metadata_key_;
  Field field_ = Field::kOther;
  PendingEntry entry_;
  std::unordered_set<std::string> names_;
  uint64_t unsigned_ = 0;
  std::string* string_ = nullptr;
};

// A value directly under the header object that is not an object.
void HeaderSax::value_at_depth_1() const {
  if (top_key_ == "__metadata__") throw InputError(fmt::format("{}: __metadata__ is not an object", path_));
  throw InputError(fmt::format("{}: tensor '{}' is not a JSON object, expected {{dtype, shape, data_offsets}}", path_,
                               bounded_excerpt(top_key_)));
}

bool HeaderSax::open(bool object) {
  ++depth_;
  if (depth_ > kMaxDepth)
    throw InputError(fmt::format("{}: entry '{}' nests JSON deeper than {} levels; a safetensors header entry "
                                 "never needs more", path_, bounded_excerpt(top_key_), kMaxDepth));
  if (depth_ == 1) {
    if (!object) throw InputError(fmt::format("{}: safetensors header is not a JSON object", path_));
  } else if (depth_ == 2) {
    if (!object) value_at_depth_1();
    in_metadata_ = top_key_ == "__metadata__";
    if (!in_metadata_) entry_ = PendingEntry{top_key_};
  } else if (in_metadata_) {
    throw metadata_error();
  } else if (field_ == Field::kDtype) {
    throw entry_error("has a non-string dtype");
  } else if (field_ == Field::kShape && !object) {
    entry_.has_shape = true;
  } else if (field_ == Field::kOffsets && !object) {
    entry_.has_offsets = true;
  } else if (field_ == Field::kShape) {
    throw entry_error("has a shape that is not a list");
  } else if (field_ == Field::kOffsets) {
    throw entry_error("data_offsets is not a list [begin, end]");
  }
  return true;
}

bool HeaderSax::key(string_t& k) {
  if (depth_ == 1) {
    top_key_ = k;
    if (!names_.insert(k).second)
      throw InputError(fmt::format("{}: tensor '{}' appears twice in the safetensors header", path_, bounded_excerpt(k)));
    const uint64_t tensors = names_.size() - names_.count("__metadata__");
    if (tensors > max_tensors_)  // checked as they come: a hostile header never fills memory first
      check_limit(Limit::kSafetensorsTensors, static_cast<int64_t>(tensors), path_ + ": tensors");
  } else if (depth_ == 2 && in_metadata_) {
    metadata_key_ = k;
    if (out_.metadata.count(k))
      throw InputError(fmt::format("{}: __metadata__ key '{}' appears twice", path_, bounded_excerpt(k)));
  } else if (depth_ == 2) {
    field_ = k == "dtype" ? Field::kDtype : k == "shape" ? Field::kShape : k == "data_offsets" ? Field::kOffsets : Field::kOther;
    const bool seen = (field_ == Field::kDtype && entry_.has_dtype) || (field_ == Field::kShape && entry_.has_shape) ||
                      (field_ == Field::kOffsets && entry_.has_offsets);
    if (seen) throw entry_error(fmt::format("has '{}' twice", k));
  }
  return true;  // keys of unknown fields' objects (depth 3) are ignored
}

bool HeaderSax::scalar(Kind kind) {
  if (depth_ <= 0) throw InputError(fmt::format("{}: safetensors header is not a JSON object", path_));
  if (depth_ == 1) value_at_depth_1();
  if (depth_ == 2 && in_metadata_) {
    if (kind != Kind::kString) throw metadata_error();
    out_.metadata.emplace(metadata_key_, std::move(*string_));
  } else if (depth_ == 2) {
    if (field_ == Field::kDtype) {
      if (kind != Kind::kString) throw entry_error("has a non-string dtype");
      entry_.dtype = std::move(*string_);
      entry_.has_dtype = true;
    } else if (field_ == Field::kShape) {
      throw entry_error("has a shape that is not a list");
    } else if (field_ == Field::kOffsets) {
      throw entry_error("data_offsets is not a list [begin, end]");
    }
  } else if (field_ == Field::kShape) {  // depth 3: inside shape / data_offsets / an unknown field
    if (kind != Kind::kUnsigned) throw entry_error("has a negative or non-integer dimension, or one beyond 2^64-1");
    if (entry_.shape.size() == kMaxSafetensorsRank)
      throw entry_error(fmt::format("has more than {} dimensions", kMaxSafetensorsRank));
    entry_.shape.push_back(unsigned_);
  } else if (field_ == Field::kOffsets) {
    if (kind != Kind::kUnsigned) throw entry_error("has a non-integer, negative or out-of-range data offset");
    if (entry_.offsets.size() == 2) throw entry_error("data_offsets is not a list [begin, end]");
    entry_.offsets.push_back(unsigned_);
  }
  return true;
}

bool HeaderSax::parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& e) {
  // nlohmann's message quotes the last token read, which may be megabytes of a hostile string.
  std::string why = e.what();
  const size_t at = last_token.empty() ? std::string::npos : why.find(last_token);
  if (at != std::string::npos) why.replace(at, last_token.size(), bounded_excerpt(last_token));
  if (const size_t id_end = why.find("] "); why.rfind("[json.exception.", 0) == 0 && id_end != std::string::npos)
    why.erase(0, id_end + 2);  // "[json.exception.parse_error.101] " says nothing to a user
  throw InputError(fmt::format("{}: safetensors header is not valid JSON at byte {} ({}), expected a JSON object",
                               path_, position, why));
}

// Tensors must tile the byte buffer exactly: sorted by offset, each starts where the previous ended,
// and the last one ends at the end of the file (no holes, no trailing bytes).
void check_tiling(const std::string& path, std::vector<TensorInfo>& tensors, uint64_t buffer_size) {
  std::stable_sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const auto& t : tensors) {
    if (t.begin != expected)
      throw InputError(fmt::format("{}: tensor '{}' starts at byte {} of the data buffer, expected {} "
                                   "(offsets must be contiguous and non-overlapping)", path, bounded_excerpt(t.name),
                                   t.begin, expected));
    expected = t.end;
  }
  if (expected != buffer_size)
    throw InputError(fmt::format("{}: tensors cover {} bytes of data but the file holds {} after the header ({})",
                                 path, expected, buffer_size, expected > buffer_size ? "truncated file" : "trailing bytes"));
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

bool safetensors_dtype_is_float(const std::string& dtype) {
  const auto* row = find_dtype(dtype);
  return row != nullptr && row->is_float;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* file, size_t file_size, const std::string& path) {
  if (file_size < 8)
    throw InputError(fmt::format("{}: {} bytes, too short for a safetensors file (needs an 8-byte header length)",
                                 path, file_size));
  const uint64_t n = read_u64_le(file);
  const auto max_header = static_cast<uint64_t>(limit_value(Limit::kSafetensorsHeaderBytes));
  if (n > max_header)
    throw InputError(fmt::format("{}: header length {} exceeds the safetensors limit of {} bytes", path, n, max_header));
  if (n > file_size - 8)
    throw InputError(fmt::format("{}: header length {} runs past the end of the {}-byte file (truncated?)", path, n,
                                 file_size));
  const char* text = reinterpret_cast<const char*>(file + 8);
  if (n == 0 || text[0] != '{') throw InputError(fmt::format("{}: safetensors header must start with '{{'", path));
  SafetensorsHeader header;
  header.data_start = 8 + n;
  HeaderSax sax(path, header);
  json::sax_parse(text, text + n, &sax);  // strict: nothing but whitespace after the object
  check_tiling(path, header.tensors, file_size - header.data_start);
  return header;
}

}  // namespace ptq::io
