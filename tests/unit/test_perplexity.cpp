// The perplexity evaluator against the naive reference: same segments, same loss, same averaging.
#include "evaluators/perplexity/perplexity.h"
#include "harness/util/errors.h"
#include "tests/support/naive_llama.h"
#include "tests/support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>

using Catch::Matchers::Contains;

namespace {

std::vector<int64_t> stream_of(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int64_t> ids;
  uint64_t s = seed;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    ids.push_back(static_cast<int64_t>((s >> 33) % static_cast<uint64_t>(vocab)));
  }
  return ids;
}

ptq::eval::PplOptions options(int64_t seqlen, int64_t limit = 0, int64_t batch = 1) {
  ptq::eval::PplOptions o;
  o.seqlen = seqlen;
  o.limit = limit;
  o.batch_size = batch;
  o.progress = false;
  return o;
}

}  // namespace

TEST_CASE("ppl = exp(mean over segments of the mean CE of seqlen-1 predictions)", "[unit][ppl]") {
  const auto m = ptq::test::random_model(ptq::test::tiny_config(), 21);
  const auto ids = stream_of(16 * 3 + 5, 97, 1);  // 3 segments of 16, a tail of 5 that is dropped
  const auto r = ptq::eval::evaluate_perplexity(m, at::tensor(ids, at::kLong), options(16));
  const auto ref = ptq::test::naive_perplexity(m, ids, 16, 3);
  CHECK(r.nsamples == 3);
  CHECK(r.nsamples_total == 3);
  CHECK(r.tokens == 3 * 15);
  CHECK(r.ppl == Approx(ref.ppl).epsilon(1e-5));
  CHECK(r.nll == Approx(ref.nll).epsilon(1e-5));
  CHECK(r.ppl > 5);  // a random model on random tokens is far from certain

  // stderr: delta method over the three segment losses.
  double mean = 0, ss = 0;
  for (double l : r.segment_loss) mean += l / 3;
  for (double l : r.segment_loss) ss += (l - mean) * (l - mean);
  CHECK(r.stderr_ppl == Approx(std::exp(mean) * std::sqrt(ss / 2) / std::sqrt(3.0)).epsilon(1e-9));
}

TEST_CASE("limit: averages over the scored segments only", "[unit][ppl]") {
  const auto m = ptq::test::random_model(ptq::test::tiny_config(), 22);
  const auto ids = stream_of(16 * 4, 97, 2);
  const auto r = ptq::eval::evaluate_perplexity(m, at::tensor(ids, at::kLong), options(16, 2));
  const auto ref = ptq::test::naive_perplexity(m, ids, 16, 2);
  CHECK(r.nsamples == 2);
  CHECK(r.nsamples_total == 4);
  CHECK(r.ppl == Approx(ref.ppl).epsilon(1e-5));
}

TEST_CASE("results do not depend on the batch size", "[unit][ppl]") {
  const auto m = ptq::test::random_model(ptq::test::tiny_config(), 23);
  const at::Tensor ids = at::tensor(stream_of(16 * 5, 97, 3), at::kLong);
  const auto one = ptq::eval::evaluate_perplexity(m, ids, options(16, 0, 1));
  const auto three = ptq::eval::evaluate_perplexity(m, ids, options(16, 0, 3));
  CHECK(three.nsamples == 5);
  CHECK(three.ppl == Approx(one.ppl).epsilon(1e-6));
  for (size_t i = 0; i < 5; ++i) CHECK(three.segment_loss[i] == Approx(one.segment_loss[i]).epsilon(1e-6));
}

TEST_CASE("bad streams are input errors", "[unit][ppl]") {
  const auto m = ptq::test::random_model(ptq::test::tiny_config(), 24);
  CHECK_THROWS_WITH(ptq::eval::evaluate_perplexity(m, at::tensor(std::vector<int64_t>{1, 2, 3}, at::kLong), options(16)),
                    Contains("fewer than one segment"));
  CHECK_THROWS_WITH(ptq::eval::evaluate_perplexity(m, at::full({32}, 97, at::kLong), options(16)),
                    Contains("outside the model's vocabulary of 97"));
}
