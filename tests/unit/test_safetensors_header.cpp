// The LibTorch-free safetensors header parser (io/safetensors_header.h): a 64 000-tensor header read
// correctly (the old DOM-callback parser needed over a minute for it; tests/bench times it), and each rule
// added for hostile headers (issue #29): tensor count limit, nesting depth, number overflow, shape rank,
// duplicate fields, bounded echoes of user values.
#include "harness/io/safetensors_header.h"
#include "harness/util/errors.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using ptq::InputError;
using ptq::io::parse_safetensors_header;

namespace {

// 8-byte little-endian length, header text, data bytes.
std::vector<uint8_t> file_bytes(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> out(8 + header.size() + data_bytes, 0);
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>((header.size() >> (8 * i)) & 0xFF);
  std::copy(header.begin(), header.end(), out.begin() + 8);
  return out;
}

std::string rejection(const std::string& header, size_t data_bytes) {
  const auto bytes = file_bytes(header, data_bytes);
  try {
    parse_safetensors_header(bytes.data(), bytes.size(), "h.safetensors");
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

const std::string kOk = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

}  // namespace

TEST_CASE("a 64 000-tensor header is read entry by entry, in offset order", "[unit][safetensors][safetensors_header]") {
  // Tensor i: F32 of shape [i % 5 + 1, 2] (8 * (i % 5 + 1) bytes), written in reverse order so that the
  // parser must sort by offset; offsets computed here independently as a running sum.
  const int n = 64'000;
  std::vector<uint64_t> begin(n + 1, 0);
  for (int i = 0; i < n; ++i) begin[i + 1] = begin[i] + 8 * static_cast<uint64_t>(i % 5 + 1);
  std::string header = R"({"__metadata__":{"format":"pt","note":"big"})";
  for (int i = n - 1; i >= 0; --i)
    header += fmt::format(R"(,"model.t{}":{{"dtype":"F32","shape":[{},2],"data_offsets":[{},{}]}})", i, i % 5 + 1,
                          begin[i], begin[i + 1]);
  header += "}";
  const auto bytes = file_bytes(header, begin[n]);
  const auto h = parse_safetensors_header(bytes.data(), bytes.size(), "big.safetensors");
  REQUIRE(h.tensors.size() == static_cast<size_t>(n));
  CHECK(h.data_start == 8 + header.size());
  CHECK(h.metadata.size() == 2);
  CHECK(h.metadata.at("note") == "big");
  for (int i = 0; i < n; ++i) {
    const auto& t = h.tensors[static_cast<size_t>(i)];
    REQUIRE(t.name == fmt::format("model.t{}", i));
    REQUIRE(t.dtype == "F32");
    REQUIRE(t.shape == std::vector<int64_t>{i % 5 + 1, 2});
    REQUIRE(t.begin == begin[i]);
    REQUIRE(t.end == begin[i + 1]);
  }
}

TEST_CASE("the tensor count limit is checked as entries arrive", "[unit][safetensors_header]") {
  const std::string four = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                           R"("c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"d":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},)"
                           R"("__metadata__":{"format":"pt"}})";
  CHECK(rejection(four, 16) == "accepted");
  ::setenv("PTQBENCH_MAX_SAFETENSORS_TENSORS", "3", 1);
  const std::string message = rejection(four, 16);
  ::setenv("PTQBENCH_MAX_SAFETENSORS_TENSORS", "4", 1);  // __metadata__ is not a tensor
  const std::string at_limit = rejection(four, 16);
  ::unsetenv("PTQBENCH_MAX_SAFETENSORS_TENSORS");
  CHECK(message == "h.safetensors: tensors: 4 exceeds the limit of 3 tensors in one safetensors file "
                   "(PTQBENCH_MAX_SAFETENSORS_TENSORS raises it)");
  CHECK(at_limit == "accepted");
}

TEST_CASE("JSON nested deeper than an entry needs is refused without recursion", "[unit][safetensors_header]") {
  // An unknown field holding a list is depth 3, as shape is: accepted (and ignored).
  CHECK(rejection(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":[1,2]}})", 8) == "accepted");
  CHECK(rejection(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":[[1]]}})", 8) ==
        "h.safetensors: entry 'w' nests JSON deeper than 3 levels; a safetensors header entry never needs more");
  // 100 000 levels: the same one line, not a stack overflow.
  const std::string deep = "{\"w\":{\"x\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}}";
  CHECK_THAT(rejection(deep, 0), Contains("entry 'w' nests JSON deeper than 3 levels"));
  CHECK_THAT(rejection(R"({"__metadata__":{"k":{"x":"y"}}})", 0), Contains("__metadata__ value 'k' is not a string"));
}

TEST_CASE("numbers out of range are input errors", "[unit][safetensors_header]") {
  CHECK_THAT(rejection(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,1e400]}})", 8),
             Contains("h.safetensors: safetensors header is not valid JSON at byte") && Contains("number overflow"));
  CHECK(rejection(R"({"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}})", 8) ==
        "h.safetensors: tensor 'w' has a negative or non-integer dimension, or one beyond 2^64-1");
  CHECK(rejection(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", 8) ==
        "h.safetensors: tensor 'w' has a non-integer, negative or out-of-range data offset");
  CHECK(rejection(R"({"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})", 8) ==
        "h.safetensors: tensor 'w' has a dimension that overflows int64");
}

TEST_CASE("entry structure rules", "[unit][safetensors_header]") {
  CHECK(rejection(R"({"w":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})", 8) ==
        "h.safetensors: tensor 'w' has 'dtype' twice");
  CHECK(rejection(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", 8) ==
        "h.safetensors: tensor 'w' data_offsets is not a list [begin, end]");
  CHECK(rejection(R"({"w":{"dtype":"F32","shape":{"a":2},"data_offsets":[0,8]}})", 8) ==
        "h.safetensors: tensor 'w' has a shape that is not a list");
  CHECK(rejection(R"({"w":[1,2]})", 0) == "h.safetensors: tensor 'w' is not a JSON object, expected {dtype, shape, data_offsets}");
  CHECK(rejection(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", 8) == "h.safetensors: tensor 'w' has a non-string dtype");
  CHECK(rejection(R"({"__metadata__":{"a":"1","a":"2"}})", 0) == "h.safetensors: __metadata__ key 'a' appears twice");
  CHECK(rejection(R"({"__metadata__":[]})", 0) == "h.safetensors: __metadata__ is not an object");
  std::string ones;
  for (int i = 0; i < 65; ++i) ones += i ? ",1" : "1";
  CHECK(rejection(R"({"w":{"dtype":"F32","shape":[)" + ones + R"(],"data_offsets":[0,4]}})", 4) ==
        "h.safetensors: tensor 'w' has more than 64 dimensions");
  CHECK(rejection("{" + kOk + "}", 8) == "accepted");
}

TEST_CASE("user values in messages are bounded", "[unit][safetensors_header]") {
  const std::string long_name(10'000, 'n');
  const std::string m1 = rejection(R"({")" + long_name + R"(":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", 8);
  CHECK_THAT(m1, Contains("has unknown dtype 'F31'") && Contains("(10000 bytes)"));
  CHECK(m1.size() < 400);
  const std::string long_dtype(50'000, 'F');
  const std::string m2 = rejection(R"({"w":{"dtype":")" + long_dtype + R"(","shape":[2],"data_offsets":[0,8]}})", 8);
  CHECK_THAT(m2, Contains("(50000 bytes)"));
  CHECK(m2.size() < 400);
  // An unterminated 1 MB string: nlohmann quotes the whole token in its message, we bound it.
  const std::string m3 = rejection(R"({"w":{"dtype":")" + std::string(1'000'000, 'x'), 0);
  CHECK_THAT(m3, Contains("not valid JSON at byte") && Contains("missing closing quote") && Contains("bytes)"));
  CHECK(m3.size() < 800);
}
