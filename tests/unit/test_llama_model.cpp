// The LibTorch model against the naive scalar reference (tests/support/naive_llama.cpp).
#include "harness/model/llama_model.h"
#include "tests/support/naive_llama.h"
#include "tests/support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

using ptq::test::TinyShape;

namespace {

double max_abs_diff_to_naive(const ptq::LlamaModel& m, const std::vector<int64_t>& ids) {
  const at::Tensor logits = m.forward(at::tensor(ids, at::kLong).unsqueeze(0))[0];
  const auto ref = ptq::test::naive_logits(m, ids);
  double worst = 0;
  for (size_t t = 0; t < ids.size(); ++t)
    for (int64_t v = 0; v < m.config().vocab_size; ++v)
      worst = std::max(worst, std::abs(logits[t][v].item<double>() - ref[t][v]));
  return worst;
}

std::vector<int64_t> some_ids(int64_t n, int64_t vocab) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back((i * 37 + 11) % vocab);
  return ids;
}

}  // namespace

TEST_CASE("logits equal the naive reference (fp32, max abs diff < 1e-4)", "[unit][model]") {
  TinyShape shape;
  SECTION("GQA, untied") {
    shape.kv_heads = 2;
    shape.tied = false;
  }
  SECTION("GQA 4:1, tied embeddings") {
    shape.kv_heads = 1;
    shape.tied = true;
  }
  SECTION("MHA, three layers") {
    shape.kv_heads = 4;
    shape.layers = 3;
  }
  const auto m = ptq::test::random_model(ptq::test::tiny_config(shape), 7);
  const auto ids = some_ids(24, shape.vocab);
  const double diff = max_abs_diff_to_naive(m, ids);
  INFO("max |logits - naive| = " << diff);
  CHECK(diff < 1e-4);
  // The reference is not trivially close: logits vary by O(1) across the vocabulary.
  CHECK(m.forward(at::tensor(ids, at::kLong).unsqueeze(0)).std().item<double>() > 0.1);
}

TEST_CASE("tensor shapes through attention: GQA heads and RoPE tables", "[unit][model]") {
  TinyShape shape;
  shape.kv_heads = 2;
  const auto c = ptq::test::tiny_config(shape);
  CHECK(c.q_dim() == 64);
  CHECK(c.kv_dim() == 32);
  const auto m = ptq::test::random_model(c, 1);
  CHECK(m.block(0).k_proj.weight.sizes() == at::IntArrayRef({32, 64}));
  const auto rope = m.rope(10);
  CHECK(rope.cos.sizes() == at::IntArrayRef({10, c.head_dim}));
  const at::Tensor x = at::randn({3, 10, 64});
  CHECK(ptq::attention_forward(m.block(0), c, x, rope).sizes() == at::IntArrayRef({3, 10, 64}));
  CHECK(m.forward(at::zeros({3, 10}, at::kLong)).sizes() == at::IntArrayRef({3, 10, shape.vocab}));
}

TEST_CASE("blocks run one at a time give the same logits as forward()", "[unit][model]") {
  const auto m = ptq::test::random_model(ptq::test::tiny_config(), 3);
  const at::Tensor ids = at::randint(0, 97, {2, 16}, at::kLong);
  const auto rope = m.rope(16);
  at::Tensor h = m.embed(ids);
  for (size_t i = 0; i < m.num_blocks(); ++i) h = m.block_forward(i, h, rope);
  CHECK(at::allclose(m.logits(h), m.forward(ids), 0, 1e-6));
}

TEST_CASE("a batch gives the same logits as each sequence alone", "[unit][model]") {
  const auto m = ptq::test::random_model(ptq::test::tiny_config(), 5);
  const at::Tensor ids = at::randint(0, 97, {3, 12}, at::kLong);
  const at::Tensor batched = m.forward(ids);
  for (int64_t b = 0; b < 3; ++b) CHECK(at::allclose(batched[b], m.forward(ids[b].unsqueeze(0))[0], 1e-5, 1e-5));
}

TEST_CASE("causality: a token's logits do not depend on later tokens", "[unit][model]") {
  const auto m = ptq::test::random_model(ptq::test::tiny_config(), 9);
  at::Tensor ids = at::randint(0, 97, {1, 12}, at::kLong);
  const at::Tensor before = m.forward(ids);
  ids[0][11] = (ids[0][11].item<int64_t>() + 1) % 97;
  const at::Tensor after = m.forward(ids);
  CHECK(at::allclose(before.narrow(1, 0, 11), after.narrow(1, 0, 11), 0, 1e-6));
  CHECK_FALSE(at::allclose(before.narrow(1, 11, 1), after.narrow(1, 11, 1), 0, 1e-6));
}

TEST_CASE("attention processed head by head equals all heads at once", "[unit][model]") {
  ptq::test::TinyShape shape;
  shape.kv_heads = 2;
  const auto c = ptq::test::tiny_config(shape);
  const auto m = ptq::test::random_model(c, 12);
  const auto rope = m.rope(20);
  const at::Tensor x = at::randn({2, 20, 64});
  const at::Tensor all = ptq::attention_forward(m.block(0), c, x, rope);
  const at::Tensor one_by_one = ptq::attention_forward(m.block(0), c, x, rope, {}, /*score_chunk_bytes=*/1);
  const at::Tensor pairs = ptq::attention_forward(m.block(0), c, x, rope, {}, 2 * 2 * 20 * 20 * 4);
  CHECK(at::allclose(all, one_by_one, 0, 1e-6));
  CHECK(at::allclose(all, pairs, 0, 1e-6));
}
