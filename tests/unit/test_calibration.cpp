// Calibration windows end to end: files -> token stream -> CPython-seeded windows.
#include "harness/data/calibration.h"
#include "harness/data/text_sources.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"
#include "tests/support/test_tokenizer.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

using Catch::Matchers::Contains;

TEST_CASE("wikitext2 calibration windows are slices of the joined train stream at CPython's offsets",
          "[unit][calibration]") {
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(ptq::test::train_test_tokenizer(dir.path()));
  ptq::test::write_text(dir.file("wiki.train.raw"), " \n = Title = \n \n" + ptq::test::synthetic_text(80, 3));
  const auto cache = ptq::eval::TokenCache::disabled();
  const auto calib = ptq::eval::sample_calibration("wikitext2", dir.path(), tok, 6, 32, 2, cache);

  // The stream, built here from the same rows: "", " = Title = \n", "", then one row per text line.
  const auto raw = " \n = Title = \n \n" + ptq::test::synthetic_text(80, 3);
  const auto ids = tok.encode_input(ptq::eval::wikitext_join(raw));
  REQUIRE(calib.windows.sizes() == at::IntArrayRef({6, 32}));
  CHECK(calib.starts == ptq::eval::sample_stream_starts(static_cast<int64_t>(ids.size()), 6, 32, 2));
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 32; ++j) CHECK(calib.windows[i][j].item<int64_t>() == ids[calib.starts[i] + j]);
  CHECK(calib.provenance["windows_sha256"].get<std::string>().size() == 64);

  // Another seed, other windows; the same seed, the same windows.
  const auto other = ptq::eval::sample_calibration("wikitext2", dir.path(), tok, 6, 32, 0, cache);
  CHECK_FALSE(other.windows.equal(calib.windows));
  CHECK(ptq::eval::sample_calibration("wikitext2", dir.path(), tok, 6, 32, 2, cache).windows.equal(calib.windows));
}

TEST_CASE("c4 calibration windows come from documents long enough for them", "[unit][calibration]") {
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(ptq::test::train_test_tokenizer(dir.path()));
  std::vector<std::string> texts;
  std::string shard;
  for (int d = 0; d < 30; ++d) {
    texts.push_back(ptq::test::synthetic_text(1 + d % 7, static_cast<uint32_t>(d)));
    shard += nlohmann::json{{"text", texts.back()}, {"url", fmt::format("u{}", d)}}.dump() + "\n";
  }
  ptq::test::write_text(dir.file("c4-train.00000-of-01024.json"), shard);
  const auto calib = ptq::eval::sample_calibration("c4", dir.path(), tok, 5, 24, 2, ptq::eval::TokenCache::disabled());
  REQUIRE(calib.docs.size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    const auto full = tok.encode_input(texts[calib.docs[i]]);
    REQUIRE(full.size() > 24);
    CHECK(calib.starts[i] <= static_cast<int64_t>(full.size()) - 24 - 1);
    for (int64_t j = 0; j < 24; ++j) CHECK(calib.windows[i][j].item<int64_t>() == full[calib.starts[i] + j]);
  }
}

TEST_CASE("an unknown calibration dataset is named with the choices", "[unit][calibration]") {
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(ptq::test::train_test_tokenizer(dir.path()));
  CHECK_THROWS_WITH(ptq::eval::sample_calibration("wikitext", dir.path(), tok, 1, 8, 0, ptq::eval::TokenCache::disabled()),
                    Contains("unknown calibration dataset 'wikitext', did you mean 'wikitext2'?"));
}

TEST_CASE("user calibration data: a text file by the wikitext2 rule, a JSON-lines field by the c4 rule",
          "[unit][calibration]") {
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(ptq::test::train_test_tokenizer(dir.path()));
  const auto cache = ptq::eval::TokenCache::disabled();
  // text: the whole file as tokenizer(text), no WikiText row joining.
  const std::string raw = " \n = Title = \n \n" + ptq::test::synthetic_text(60, 5);
  ptq::test::write_text(dir.file("mine.txt"), raw);
  const auto calib = ptq::eval::sample_calibration("text", dir.file("mine.txt"), tok, 4, 16, 2, cache);
  const auto ids = tok.encode_input(raw);
  CHECK(calib.starts == ptq::eval::sample_stream_starts(static_cast<int64_t>(ids.size()), 4, 16, 2));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 16; ++j) CHECK(calib.windows[i][j].item<int64_t>() == ids[calib.starts[i] + j]);
  CHECK(calib.provenance["tokenizer_input"] == "bos+text");

  // jsonl: another field than "text" with PATH#FIELD.
  std::vector<std::string> texts;
  std::string lines;
  for (int d = 0; d < 20; ++d) {
    texts.push_back(ptq::test::synthetic_text(1 + d % 5, static_cast<uint32_t>(d + 50)));
    lines += nlohmann::json{{"content", texts.back()}, {"n", d}}.dump() + "\n";
  }
  ptq::test::write_text(dir.file("docs.jsonl"), lines);
  const auto j = ptq::eval::sample_calibration("jsonl", dir.file("docs.jsonl") + "#content", tok, 3, 20, 2, cache);
  REQUIRE(j.docs.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    const auto full = tok.encode_input(texts[j.docs[i]]);
    for (int64_t k = 0; k < 20; ++k) CHECK(j.windows[i][k].item<int64_t>() == full[j.starts[i] + k]);
  }
  CHECK(j.provenance["field"] == "content");
  CHECK_THROWS_WITH(ptq::eval::sample_calibration("jsonl", dir.file("docs.jsonl"), tok, 3, 20, 2, cache),
                    Contains("docs.jsonl: line 1 has no string \"text\" field"));
  CHECK_THROWS_WITH(ptq::eval::sample_calibration("text", dir.file("absent.txt"), tok, 3, 20, 2, cache),
                    Contains("calibration text file not found"));
}
