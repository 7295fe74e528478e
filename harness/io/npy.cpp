#include "harness/io/npy.h"

#include "harness/io/files.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstring>
#include <regex>

namespace ptq::io {

namespace {

struct NpyType {
  const char* descr;
  at::ScalarType type;
};
const NpyType kTypes[] = {{"<i2", at::kShort}, {"<i4", at::kInt}, {"<i8", at::kLong}, {"|u1", at::kByte},
                          {"|i1", at::kChar},  {"<u2", at::kInt}, {"<u4", at::kLong}};

}  // namespace

at::Tensor read_npy_ids(const std::string& path) {
  const std::string bytes = read_file(path);
  const auto bad = [&](const std::string& what) {
    return InputError(fmt::format("{}: {}, expected a NumPy .npy file holding a 1-D integer array", path, what));
  };
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) throw bad("no .npy magic");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_at;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw bad("truncated header");
    header_len = 0;
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    header_at = 12;
  } else {
    throw bad(fmt::format("unsupported .npy version {}", major));
  }
  if (header_at + header_len > bytes.size()) throw bad("truncated header");
  const std::string header = bytes.substr(header_at, header_len);

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) throw bad("no 'descr'");
  const std::string descr = m[1];
  if (std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*True)"))) throw bad("Fortran order");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) throw bad("no 'shape'");
  std::vector<int64_t> dims;
  const std::string shape = m[1];
  const std::regex digits(R"(\d+)");
  for (std::sregex_iterator it(shape.begin(), shape.end(), digits), end; it != end; ++it) {
    if (it->str().size() > 15) throw bad(fmt::format("shape ({})", shape));  // no file holds 10^15 elements
    dims.push_back(std::stoll(it->str()));
  }
  int64_t n = 0;
  if (dims.size() == 1) n = dims[0];
  else if (dims.size() == 2 && dims[0] == 1) n = dims[1];
  else throw bad(fmt::format("shape ({})", shape));

  const NpyType* type = nullptr;
  for (const auto& t : kTypes)
    if (descr == t.descr) type = &t;
  if (type == nullptr) throw bad(fmt::format("dtype '{}'", descr));
  const size_t item = descr[2] - '0';
  const size_t data_at = header_at + header_len;
  if (bytes.size() - data_at != static_cast<size_t>(n) * item)
    throw bad(fmt::format("{} data bytes for {} elements of {}", bytes.size() - data_at, n, descr));

  at::Tensor out = at::empty({n}, at::kLong);
  auto* dst = out.data_ptr<int64_t>();
  const auto* src = reinterpret_cast<const unsigned char*>(bytes.data() + data_at);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t v = 0;
    for (size_t b = 0; b < item; ++b) v |= static_cast<uint64_t>(src[i * item + b]) << (8 * b);
    const bool is_signed = descr[1] == 'i';
    if (is_signed && item < 8 && (v >> (8 * item - 1)) & 1) v |= ~uint64_t{0} << (8 * item);  // sign-extend
    dst[i] = static_cast<int64_t>(v);
  }
  return out;
}

void write_npy_ids(const std::string& path, const at::Tensor& ids) {
  const at::Tensor v = ids.reshape({-1}).to(at::kInt).contiguous().cpu();
  std::string header = fmt::format("{{'descr': '<i4', 'fortran_order': False, 'shape': ({},), }}", v.numel());
  // Version 1.0: magic(6) + version(2) + u16 length, with the header padded so data is 64-byte aligned.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>((header.size() >> 8) & 0xFF);
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(v.data_ptr<int32_t>()), v.numel() * sizeof(int32_t));
  write_file_atomic(path, bytes);
}

}  // namespace ptq::io
