// safetensors: round trips through our writer, the reference format's own test vector, and every
// malformed-file rule of the reference implementation rejected with a message naming the problem.
#include "harness/io/safetensors.h"
#include "harness/io/tensor_store.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <fstream>

using ptq::InputError;
using ptq::io::SafetensorsFile;
using ptq::io::TensorStore;
using ptq::test::TempDir;
using Catch::Matchers::Contains;

namespace {

// A raw safetensors file: 8-byte little-endian header length, header text, data bytes.
void write_raw(const std::string& path, const std::string& header, const std::string& data, int64_t length_override = -1) {
  std::string bytes(8, '\0');
  const uint64_t n = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  ptq::test::write_text(path, bytes + header + data);
}

std::string rejection(const std::string& header, const std::string& data, int64_t length_override = -1) {
  TempDir dir;
  write_raw(dir.file("x.safetensors"), header, data, length_override);
  try {
    SafetensorsFile f(dir.file("x.safetensors"));
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("the format's reference test vector loads", "[unit][safetensors]") {
  TempDir dir;
  write_raw(dir.file("t.safetensors"), R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})",
            std::string(16, '\0'));
  SafetensorsFile f(dir.file("t.safetensors"));
  REQUIRE(f.tensors().size() == 1);
  const at::Tensor t = f.load("test");
  CHECK(t.scalar_type() == at::kInt);
  CHECK(t.sizes() == at::IntArrayRef({2, 2}));
  CHECK(t.abs().sum().item<int>() == 0);
}

TEST_CASE("write then read round-trips values, dtypes, shapes and metadata", "[unit][safetensors]") {
  TempDir dir;
  const at::Tensor f32 = at::randn({3, 5});
  const at::Tensor f16 = at::randn({7}).to(at::kHalf);
  const at::Tensor bf16 = at::randn({2, 2, 2}).to(at::kBFloat16);
  const at::Tensor i64 = at::arange(6, at::kLong).view({2, 3});
  const at::Tensor scalar = at::scalar_tensor(3.5);
  const at::Tensor empty = at::empty({0, 4});
  const at::Tensor strided = at::randn({4, 6}).t();  // non-contiguous input
  ptq::io::write_safetensors(dir.file("m.safetensors"),
                             {{"a.f32", f32}, {"b.f16", f16}, {"c.bf16", bf16}, {"d.i64", i64},
                              {"e.scalar", scalar}, {"f.empty", empty}, {"g.strided", strided}},
                             {{"method", "rtn"}});
  SafetensorsFile f(dir.file("m.safetensors"));
  CHECK(f.metadata().at("format") == "pt");
  CHECK(f.metadata().at("method") == "rtn");
  CHECK(f.load("a.f32").equal(f32));
  CHECK(f.load("b.f16").equal(f16));
  CHECK(f.load("c.bf16").equal(bf16));
  CHECK(f.load("d.i64").equal(i64));
  CHECK(f.load("e.scalar").dim() == 0);
  CHECK(f.load("e.scalar").item<double>() == 3.5);
  CHECK(f.load("f.empty").sizes() == at::IntArrayRef({0, 4}));
  CHECK(f.load("g.strided").equal(strided));
  CHECK(f.find("b.f16")->dtype == "F16");
  CHECK(f.find("missing") == nullptr);
  CHECK_THROWS_WITH(f.load("missing"), Contains("no tensor named 'missing'"));

  // The header is padded to 8 bytes and every tensor starts aligned to its element size.
  std::ifstream in(dir.file("m.safetensors"), std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  CHECK(n % 8 == 0);
  for (const auto& t : f.tensors()) CHECK(t.begin % (ptq::io::safetensors_dtype_bits(t.dtype) / 8) == 0);
}

TEST_CASE("malformed files are rejected with a message naming the rule", "[unit][safetensors]") {
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string data8(8, '\0');

  SECTION("shorter than the length field") {
    TempDir dir;
    ptq::test::write_text(dir.file("x.safetensors"), "abc");
    CHECK_THROWS_WITH(SafetensorsFile(dir.file("x.safetensors")), Contains("too short"));
  }
  SECTION("header length above the 100 MB limit") {
    CHECK_THAT(rejection("{" + ok_entry + "}", data8, 100'000'001), Contains("exceeds the safetensors limit"));
  }
  SECTION("header length past the end of the file") {
    CHECK_THAT(rejection("{" + ok_entry + "}", data8, 5000), Contains("runs past the end"));
  }
  SECTION("header not starting with '{'") {
    CHECK_THAT(rejection(" {" + ok_entry + "}", data8), Contains("must start with '{'"));
  }
  SECTION("invalid JSON") { CHECK_THAT(rejection("{\"w\":", ""), Contains("not valid JSON")); }
  SECTION("duplicate tensor names") {
    CHECK_THAT(rejection("{" + ok_entry + "," + R"("w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]})" + "}",
                         data8 + data8),
               Contains("'w' appears twice"));
  }
  SECTION("unknown dtype") {
    CHECK_THAT(rejection(R"({"w":{"dtype":"F31","shape":[2],"data_offsets":[0,8]}})", data8),
               Contains("unknown dtype 'F31'"));
  }
  SECTION("negative dimension") {
    CHECK_THAT(rejection(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8),
               Contains("negative or non-integer dimension"));
  }
  SECTION("dtype x shape differs from the byte length") {
    CHECK_THAT(rejection(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8),
               Contains("has 8 bytes of data, expected 12"));
  }
  SECTION("end before begin") {
    CHECK_THAT(rejection(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data8),
               Contains("end 0 < begin 8"));
  }
  SECTION("a hole between tensors") {
    CHECK_THAT(rejection(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                         std::string(12, '\0')),
               Contains("'b' starts at byte 8 of the data buffer, expected 4"));
  }
  SECTION("overlapping tensors") {
    CHECK_THAT(rejection(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         data8),
               Contains("expected 8"));
  }
  SECTION("truncated data") {
    CHECK_THAT(rejection("{" + ok_entry + "}", std::string(5, '\0')), Contains("truncated file"));
  }
  SECTION("trailing bytes") {
    CHECK_THAT(rejection("{" + ok_entry + "}", std::string(12, '\0')), Contains("trailing bytes"));
  }
  SECTION("non-string metadata") {
    CHECK_THAT(rejection(R"({"__metadata__":{"n":1},)" + ok_entry + "}", data8), Contains("is not a string"));
  }
  SECTION("size overflow") {
    CHECK_THAT(rejection(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data8),
               Contains("overflows"));
  }
  SECTION("missing data_offsets") {
    CHECK_THAT(rejection(R"({"w":{"dtype":"F32","shape":[2]}})", data8), Contains("has no 'data_offsets'"));
  }
  SECTION("every message names the file") {
    CHECK_THAT(rejection(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8), Contains("x.safetensors"));
  }
}

TEST_CASE("space padding after the header JSON is accepted", "[unit][safetensors]") {
  TempDir dir;
  write_raw(dir.file("p.safetensors"), R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})" + std::string(5, ' '),
            std::string(8, '\0'));
  CHECK(SafetensorsFile(dir.file("p.safetensors")).tensors().size() == 1);
}

TEST_CASE("dtypes LibTorch cannot hold are validated but refused on load", "[unit][safetensors]") {
  TempDir dir;
  write_raw(dir.file("f8.safetensors"), R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})",
            std::string(4, '\0'));
  SafetensorsFile f(dir.file("f8.safetensors"));
  CHECK_THROWS_WITH(f.load("w"), Contains("dtype F8_E4M3"));
}

TEST_CASE("sharded checkpoints are read through model.safetensors.index.json", "[unit][safetensors]") {
  TempDir dir;
  const at::Tensor a = at::randn({4}), b = at::randn({2, 3});
  ptq::io::write_safetensors(dir.file("model-00001-of-00002.safetensors"), {{"a", a}});
  ptq::io::write_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"b", b}});
  const auto index = [&](const std::string& weight_map) {
    ptq::test::write_text(dir.file("model.safetensors.index.json"),
                          R"({"metadata":{"total_size":40},"weight_map":)" + weight_map + "}");
  };

  SECTION("a valid index") {
    index(R"({"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"})");
    const auto store = TensorStore::open_dir(dir.path());
    CHECK(store.names() == std::vector<std::string>{"a", "b"});
    CHECK(store.files().size() == 2);
    CHECK(store.load("b").equal(b));
    CHECK(store.total_bytes() == 40);
  }
  SECTION("a shard that does not exist") {
    index(R"({"a":"model-00001-of-00002.safetensors","b":"model-00003-of-00002.safetensors"})");
    CHECK_THROWS_WITH(TensorStore::open_dir(dir.path()), Contains("model-00003-of-00002.safetensors"));
  }
  SECTION("a tensor the index places in a shard that lacks it") {
    index(R"({"a":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"})");
    CHECK_THROWS_WITH(TensorStore::open_dir(dir.path()), Contains("does not hold it"));
  }
  SECTION("the same tensor in two shards") {
    ptq::io::write_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"a", a}, {"b", b}});
    index(R"({"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"})");
    CHECK_THROWS_WITH(TensorStore::open_dir(dir.path()), Contains("stored twice"));
  }
  SECTION("a shard name that escapes the directory") {
    index(R"({"a":"../model-00001-of-00002.safetensors"})");
    CHECK_THROWS_WITH(TensorStore::open_dir(dir.path()), Contains("not a file name inside"));
  }
  SECTION("an index that is not JSON") {
    ptq::test::write_text(dir.file("model.safetensors.index.json"), "{not json");
    CHECK_THROWS_WITH(TensorStore::open_dir(dir.path()), Contains("invalid JSON at line 1"));
  }
}

TEST_CASE("a directory without safetensors is a clear error", "[unit][safetensors]") {
  TempDir dir;
  CHECK_THROWS_WITH(TensorStore::open_dir(dir.path()), Contains("no model.safetensors"));
  ptq::test::write_text(dir.file("pytorch_model.bin"), "x");
  CHECK_THROWS_WITH(TensorStore::open_dir(dir.path()), Contains("convert the checkpoint to safetensors"));
}

TEST_CASE("a derived tensor replaces its sources for every reader of a tensor store", "[unit][safetensors]") {
  TempDir dir;
  const at::Tensor a = at::arange(6, at::kFloat).view({2, 3}), b = at::full({2, 3}, 2.0f), c = at::ones({4});
  ptq::io::write_safetensors(dir.file("model.safetensors"), {{"a", a}, {"b", b}, {"c", c}});
  auto store = TensorStore::open_dir(dir.path());
  ptq::io::DerivedTensor d;
  d.info.name = "ab";
  d.info.dtype = "F32";
  d.info.shape = {2, 3};
  d.sources = {"a", "b"};
  d.load = [](const TensorStore& s) { return s.load_stored("a") * s.load_stored("b"); };
  store.add_derived(d);
  const TensorStore moved = std::move(store);  // the loader reads the store it is called on
  CHECK(moved.names() == std::vector<std::string>{"ab", "c"});
  CHECK(moved.contains("ab"));
  CHECK_FALSE(moved.contains("a"));
  CHECK(moved.contains_stored("a"));
  CHECK(moved.info("ab").shape == std::vector<int64_t>{2, 3});
  CHECK(moved.load("ab").equal(a * 2));
  CHECK_THROWS_WITH(moved.load("a"), Contains("checkpoint has no tensor 'a'"));
  CHECK(moved.load_stored("a").equal(a));
  CHECK(moved.file_of("ab") == dir.file("model.safetensors"));
  CHECK(moved.total_bytes() == 64);  // what the file holds
  TensorStore again = TensorStore::open_dir(dir.path());
  again.add_derived(d);
  d.info.name = "c";  // already a visible tensor
  CHECK_THROWS_AS(again.add_derived(d), std::logic_error);
  d.info.name = "x";  // sources already hidden by "ab"
  CHECK_THROWS_AS(again.add_derived(d), std::logic_error);
}
