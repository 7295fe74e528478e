// The HF wikitext builder's row rules on a small hand-made file, and the raw-text loaders.
#include "harness/data/text_sources.h"
#include "harness/io/files.h"
#include "harness/io/npy.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using ptq::test::TempDir;

TEST_CASE("wikitext rows: lines keep their newline, blank lines become empty rows, rows joined by two newlines",
          "[unit][wikitext]") {
  // Lines: " \n", " = T = \n", " \n", " a b\n", "\u3000\n" (blank in Python), "last" (no newline)
  const std::string raw = " \n = T = \n \n a b\n\xe3\x80\x80\nlast";
  // rows: "", " = T = \n", "", " a b\n", "", "last"
  const std::string expected = std::string("") + "\n\n" + " = T = \n" + "\n\n" + "" + "\n\n" + " a b\n" + "\n\n" +
                               "" + "\n\n" + "last";
  CHECK(ptq::eval::wikitext_join(raw) == expected);
}

TEST_CASE("wikitext rows: universal newlines as Python's text mode", "[unit][wikitext]") {
  CHECK(ptq::eval::wikitext_join("a\r\nb\rc\n") == "a\n\n\nb\n\n\nc\n");
  CHECK(ptq::eval::wikitext_join("") == "");
  CHECK(ptq::eval::wikitext_join("\n") == "");
  CHECK(ptq::eval::wikitext_join("x\n\n") == "x\n\n\n");  // rows "x\n", ""
}

TEST_CASE("C4 documents are read from JSON lines, plain or gzip", "[unit][c4]") {
  TempDir dir;
  ptq::test::write_text(dir.file("c4.json"),
                        "{\"text\":\"first doc\",\"url\":\"u\"}\n{\"text\":\"second\\ndoc\",\"timestamp\":\"t\"}\n\n");
  const auto docs = ptq::eval::read_c4_texts(dir.file("c4.json"));
  CHECK(docs == std::vector<std::string>{"first doc", "second\ndoc"});
  CHECK(ptq::eval::read_c4_texts(dir.file("c4.json"), 1).size() == 1);
  CHECK(std::system(("gzip -k " + dir.file("c4.json")).c_str()) == 0);
  CHECK(ptq::eval::read_c4_texts(dir.file("c4.json.gz")) == docs);

  ptq::test::write_text(dir.file("bad.json"), "{\"text\":\"ok\"}\n{\"txt\":\"no\"}\n");
  CHECK_THROWS_WITH(ptq::eval::read_c4_texts(dir.file("bad.json")), Contains("line 2 has no string \"text\""));
  ptq::test::write_text(dir.file("trunc.json.gz"), "\x1f\x8b\x08\x00garbage");
  CHECK_THROWS_WITH(ptq::io::read_file(dir.file("trunc.json.gz")), Contains("gzip"));
}

TEST_CASE("data paths may name a directory holding the canonical file", "[unit][data]") {
  TempDir dir;
  ptq::test::write_text(dir.file("wiki.test.raw"), "x");
  CHECK(ptq::eval::resolve_data_file(dir.path(), {"wiki.test.raw"}, "w") == dir.file("wiki.test.raw"));
  CHECK(ptq::eval::resolve_data_file(dir.file("wiki.test.raw"), {"other"}, "w") == dir.file("wiki.test.raw"));
  CHECK_THROWS_WITH(ptq::eval::resolve_data_file(dir.path(), {"c4.json.gz"}, "C4 shard"),
                    Contains("C4 shard not found in directory"));
  CHECK_THROWS_WITH(ptq::eval::resolve_data_file(dir.file("nope"), {"x"}, "data"), Contains("data not found"));
}

TEST_CASE("token-id .npy files round-trip and reject other arrays", "[unit][npy]") {
  TempDir dir;
  const at::Tensor ids = at::tensor(std::vector<int64_t>{1, 29871, 13, 0, 31999}, at::kLong);
  ptq::io::write_npy_ids(dir.file("ids.npy"), ids);
  CHECK(ptq::io::read_npy_ids(dir.file("ids.npy")).equal(ids));
  // A hand-written int16 array with a negative value (sign extension) in a v1.0 file.
  std::string header = "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }";
  header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header;
  const int16_t vals[] = {5, -2, 300};
  bytes.append(reinterpret_cast<const char*>(vals), sizeof vals);
  ptq::test::write_text(dir.file("i16.npy"), bytes);
  CHECK(ptq::io::read_npy_ids(dir.file("i16.npy")).equal(at::tensor(std::vector<int64_t>{5, -2, 300}, at::kLong)));
  ptq::test::write_text(dir.file("f.npy"), std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' +
                                               std::string(header).replace(header.find("<i2"), 3, "<f4") + "123456789012");
  CHECK_THROWS_WITH(ptq::io::read_npy_ids(dir.file("f.npy")), Contains("dtype '<f4'"));
  ptq::test::write_text(dir.file("x.npy"), "not numpy");
  CHECK_THROWS_WITH(ptq::io::read_npy_ids(dir.file("x.npy")), Contains("no .npy magic"));
}
