// CUDA runs must agree with CPU runs. Skipped (exit 77) where LibTorch has no CUDA or no GPU is visible.
#include "perplexity/perplexity.h"
#include "support/random_model.h"
#include "support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>


namespace {
void require_cuda() {
  if (!at::hasCUDA()) ptq::test::skip_test("no CUDA device");
}
}  // namespace

TEST_CASE("fp32 logits on CUDA equal the CPU logits", "[gpu]") {
  require_cuda();
  auto m = ptq::test::random_model(ptq::test::tiny_config(), 41);
  const at::Tensor ids = at::randint(0, 97, {2, 32}, at::kLong);
  const at::Tensor cpu = m.forward(ids);
  m.to(at::Device("cuda"), at::kFloat);
  const at::Tensor gpu = m.forward(ids.cuda()).cpu();
  CHECK(at::allclose(cpu, gpu, 1e-4, 1e-4));
}

TEST_CASE("fp16 perplexity on CUDA is within 1% of fp32 on CPU", "[gpu]") {
  require_cuda();
  auto m = ptq::test::random_model(ptq::test::tiny_config(), 42);
  const at::Tensor ids = at::randint(0, 97, {32 * 4}, at::kLong);
  ptq::eval::PplOptions o;
  o.seqlen = 32;
  o.progress = false;
  const auto cpu = ptq::eval::evaluate_perplexity(m, ids, o);
  m.to(at::Device("cuda"), at::kHalf);
  const auto gpu = ptq::eval::evaluate_perplexity(m, ids, o);
  CHECK(gpu.ppl == Approx(cpu.ppl).epsilon(0.01));
}
