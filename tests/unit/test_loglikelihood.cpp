// Log-likelihood scoring against an independent computation (naive scalar forward + log-softmax summed
// by hand), batching, truncation, and the v0.3 / v0.4 tokenization difference on a Llama-like tokenizer.
#include "evaluators/zeroshot/loglikelihood.h"
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "tests/support/naive_llama.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"
#include "tests/support/test_tokenizer.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>

using ptq::eval::LmEvalMode;

namespace {

const std::string kLoneSpacePiece = "\xe2\x96\x81";  // "▁"

// log p(continuation | context) from naive_logits over the (truncated) input, summed in double.
std::pair<double, bool> naive_loglik(const ptq::LlamaModel& m, const ptq::eval::EncodedRequest& r, int64_t max_len) {
  std::vector<int64_t> full(r.context.begin(), r.context.end());
  full.insert(full.end(), r.continuation.begin(), r.continuation.end());
  const size_t keep = std::min(full.size(), static_cast<size_t>(max_len + 1));
  const std::vector<int64_t> input(full.end() - keep, full.end() - 1);
  const auto logits = ptq::test::naive_logits(m, input);
  double ll = 0;
  bool greedy = true;
  const size_t first = input.size() - r.continuation.size();
  for (size_t k = 0; k < r.continuation.size(); ++k) {
    const auto& row = logits[first + k];
    double mx = -1e300, z = 0;
    size_t best = 0;
    for (size_t v = 0; v < row.size(); ++v) {
      if (row[v] > mx) { mx = row[v]; best = v; }
    }
    for (const double v : row) z += std::exp(v - mx);
    ll += row[r.continuation[k]] - mx - std::log(z);
    greedy = greedy && static_cast<int32_t>(best) == r.continuation[k];
  }
  return {ll, greedy};
}

}  // namespace

TEST_CASE("v0.3 scores a lone '▁' before the word, v0.4 does not", "[unit][loglik]") {
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(ptq::test::train_test_tokenizer(dir.path()));
  const ptq::eval::LoglikRequest req{"Question: the model\nAnswer:", " model"};
  const auto v03 = ptq::eval::encode_request(tok, req, LmEvalMode::kV03);
  const auto v04 = ptq::eval::encode_request(tok, req, LmEvalMode::kV04);
  // v0.3: " model" alone -> dummy prefix + the space: ['▁', '▁model']
  REQUIRE(v03.continuation.size() == 2);
  CHECK(tok.piece(v03.continuation[0]) == kLoneSpacePiece);
  CHECK(tok.piece(v03.continuation[1]) == kLoneSpacePiece + "model");
  // v0.4: joint encoding, the continuation is ['▁model'] only; the context tokens are the same.
  REQUIRE(v04.continuation.size() == 1);
  CHECK(tok.piece(v04.continuation[0]) == kLoneSpacePiece + "model");
  CHECK(v03.context == v04.context);
  CHECK(v03.context == tok.encode("Question: the model\nAnswer:"));
  // v0.4 moves trailing context spaces into the continuation before encoding.
  const auto moved = ptq::eval::encode_request(tok, {"Answer: ", "model"}, LmEvalMode::kV04);
  CHECK(moved.context == tok.encode("Answer:"));
  CHECK(moved.continuation == std::vector<int32_t>(v04.continuation));
  // An empty context is [eos] in v0.3 and [bos] in v0.4.
  CHECK(ptq::eval::encode_request(tok, {"", " model"}, LmEvalMode::kV03).context == std::vector<int32_t>{2});
  CHECK(ptq::eval::encode_request(tok, {"", " model"}, LmEvalMode::kV04).context == std::vector<int32_t>{1});
}

TEST_CASE("log-likelihoods equal the naive computation, for any batch size and with truncation", "[unit][loglik]") {
  auto shape = ptq::test::TinyShape{};
  shape.max_pos = 16;  // small max length: the long request below is left-truncated
  const auto m = ptq::test::random_model(ptq::test::tiny_config(shape), 71);
  std::vector<ptq::eval::EncodedRequest> reqs = {
      {{5, 9, 13}, {20, 21}},
      {{7}, {30}},
      {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, {40, 41, 42}},  // 21 tokens > 16 + 1
      {{3, 3, 3, 3}, {3, 3}},
      {{8, 8}, {}},
  };
  ptq::eval::ScoreOptions one;
  one.progress = false;
  const auto r1 = ptq::eval::score_loglikelihood(m, reqs, one);
  ptq::eval::ScoreOptions three = one;
  three.batch_size = 3;
  const auto r3 = ptq::eval::score_loglikelihood(m, reqs, three);
  REQUIRE(r1.size() == reqs.size());
  for (size_t i = 0; i + 1 < reqs.size(); ++i) {
    INFO("request " << i);
    const auto [ll, greedy] = naive_loglik(m, reqs[i], 16);
    CHECK(r1[i].ll == Approx(ll).margin(1e-5));
    CHECK(r1[i].greedy == greedy);
    CHECK(r3[i].ll == Approx(r1[i].ll).margin(1e-5));
    CHECK(r3[i].greedy == r1[i].greedy);
    CHECK(r1[i].ll < 0);
  }
  CHECK(r1.back().ll == 0.0);  // an empty continuation
}

TEST_CASE("a continuation longer than the model's max length is an input error", "[unit][loglik]") {
  auto shape = ptq::test::TinyShape{};
  shape.max_pos = 4;
  const auto m = ptq::test::random_model(ptq::test::tiny_config(shape), 72);
  ptq::eval::ScoreOptions o;
  o.progress = false;
  CHECK_THROWS_AS(ptq::eval::score_loglikelihood(m, {{{1}, {2, 3, 4, 5, 6}}}, o), ptq::InputError);
  CHECK_THROWS_AS(ptq::eval::score_loglikelihood(m, {{{1}, {500}}}, o), ptq::InputError);  // outside the vocabulary
}
