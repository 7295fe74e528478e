// The sentencepiece tokenizer through the dlopen'ed shim (LibTorch is loaded in this same process,
// which is exactly the protobuf clash the shim exists to avoid).
#include "harness/data/ppl_tasks.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"
#include "tests/support/test_tokenizer.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

using Catch::Matchers::Contains;

TEST_CASE("a trained sentencepiece model encodes, decodes and adds one BOS", "[unit][tokenizer]") {
  (void)at::ones({1});  // LibTorch (and its protobuf) is live before sentencepiece is loaded
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(ptq::test::train_test_tokenizer(dir.path()));
  CHECK(tok.vocab_size() > 259);
  CHECK(tok.vocab_size() <= 400);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.unk_id() == 0);
  CHECK(tok.piece(1) == "<s>");
  CHECK(tok.sha256().size() == 64);

  const std::string text = "The model learns to clip the outlier channel .";
  const auto ids = tok.encode(text);
  CHECK(!ids.empty());
  CHECK(tok.decode(ids) == text);
  const auto with_bos = tok.encode_input(text);
  REQUIRE(with_bos.size() == ids.size() + 1);
  CHECK(with_bos[0] == 1);
  CHECK(std::equal(ids.begin(), ids.end(), with_bos.begin() + 1));
  // Byte fallback: characters never seen in training still round-trip.
  CHECK(tok.decode(tok.encode("naïve – ✓")) == "naïve – ✓");
  // The dummy prefix: a leading "▁" piece is prepended to the first word.
  CHECK(tok.piece(ids[0]).rfind("\xe2\x96\x81", 0) == 0);
}

TEST_CASE("special-token strings in text are reported, not silently merged", "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(ptq::test::train_test_tokenizer(dir.path()));
  std::vector<std::string> notices;
  const auto ids = ptq::eval::hf_slow_encode(tok, "a <s> b </s>", &notices, "f.txt");
  CHECK(ids[0] == 1);
  REQUIRE(notices.size() == 1);
  CHECK_THAT(notices[0], Contains("2 literal special-token string(s)"));
}

TEST_CASE("a file that is not a sentencepiece model is an input error", "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  ptq::test::write_text(dir.file("tokenizer.model"), "not a model");
  CHECK_THROWS_WITH(ptq::Tokenizer::load(dir.file("tokenizer.model")), Contains("not a sentencepiece model"));
  CHECK_THROWS_WITH(ptq::Tokenizer::load(dir.file("missing.model")), Contains("tokenizer file not found"));
}

TEST_CASE("a failing trainer run is an input error carrying the trainer's message", "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  CHECK_THROWS_WITH(ptq::Tokenizer::train({"--input=" + dir.file("absent.txt"), "--model_prefix=" + dir.file("t"),
                                           "--vocab_size=100"}),
                    Contains("sentencepiece training failed"));
}
