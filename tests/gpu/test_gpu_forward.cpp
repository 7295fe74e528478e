// CUDA runs must agree with CPU runs. Skipped (exit 77) where LibTorch has no CUDA or no GPU is visible.
#include "evaluators/perplexity/perplexity.h"
#include "harness/quant/fused_fake_quant.h"
#include "harness/quant/uniform_quantizer.h"
#include "tests/support/apply_method.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

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

// The closed-form methods through the engine's precision policy on CUDA: an fp16 model keeps fp16 blocks
// and activations (GPTQ's Hessian and solve in float32, as the reference); rounding decisions may differ
// from the CPU's fp32 run, the model's quality may not.
TEST_CASE("GPTQ and AWQ on CUDA in fp16 stay within 2% of the CPU fp32 perplexity", "[gpu]") {
  require_cuda();
  const auto config = ptq::test::tiny_config();
  const auto fp = ptq::test::random_model(config, 43);
  at::manual_seed(3);
  const at::Tensor calib = ptq::test::calibration_ids(8, 32, config.vocab_size);
  const at::Tensor ids = at::randint(0, config.vocab_size, {32 * 8}, at::kLong);
  ptq::eval::PplOptions o;
  o.seqlen = 32;
  o.progress = false;
  for (const char* method : {"gptq", "awq"}) {
    INFO(method);
    auto cpu = ptq::test::copy_model(fp), gpu = ptq::test::copy_model(fp);
    gpu.to(at::Device("cuda"), at::kHalf);
    ptq::test::apply_method(cpu, method, "W4A16g16", nlohmann::json::object(), calib);
    ptq::test::apply_method(gpu, method, "W4A16g16", nlohmann::json::object(), calib);
    CHECK(gpu.block(0).q_proj.weight.is_cuda());
    CHECK(ptq::eval::evaluate_perplexity(gpu, ids, o).ppl == Approx(ptq::eval::evaluate_perplexity(cpu, ids, o).ppl).epsilon(0.02));
  }
}

// The fused per-token kernels (quant/fused_fake_quant.cu) against the composed ops on the CPU: fp32
// forward bit for bit (IEEE division and rint on both), gradients to summation order; fp16/bf16 storage
// within their rounding of the fp32 result.
TEST_CASE("fused per-token fake-quant kernels equal the composed ops", "[gpu][fused]") {
  require_cuda();
  const ptq::quant::QuantizerSpec spec{4, false, 0};
  at::manual_seed(5);
  at::Tensor x0 = at::randn({3, 300, 4096});
  x0.select(2, 7).mul_(30.0);
  const at::Tensor w = at::randn(x0.sizes());
  const auto grads = [&](const at::Tensor& x_in, bool fused, const at::Tensor& logit_in) {
    at::Tensor x = x_in.detach().requires_grad_(true);
    at::Tensor logit = logit_in.detach().requires_grad_(true);
    const at::Tensor y = fused ? ptq::quant::fused_fake_quant_per_token(x, spec, logit)
                               : ptq::quant::fake_quant_rows(x, ptq::quant::compute_qparams(x, spec, logit, logit), spec);
    (y.to(at::kFloat) * w.to(y.device())).sum().backward();
    return std::make_tuple(y.detach().to(at::kFloat).cpu(), x.grad().to(at::kFloat).cpu(), logit.grad().cpu());
  };
  const at::Tensor logit = at::full({}, 3.0);
  const auto [y_ref, gx_ref, gl_ref] = grads(x0, false, logit);
  const auto [y, gx, gl] = grads(x0.cuda(), true, logit.cuda());
  CHECK(at::equal(y, y_ref));
  CHECK(at::allclose(gx, gx_ref, 1e-5, 1e-6));
  CHECK(gl.item<double>() == Approx(gl_ref.item<double>()).epsilon(1e-4));
  for (const auto dtype : {at::kHalf, at::kBFloat16}) {
    const auto [yh, gxh, glh] = grads(x0.cuda().to(dtype), true, logit.cuda());
    const double tol = dtype == at::kHalf ? 2e-2 : 1e-1;  // relative to the row scale, in elements
    CHECK((yh - y_ref).abs().max().item<double>() < tol * y_ref.abs().max().item<double>());
    CHECK(glh.item<double>() == Approx(gl_ref.item<double>()).epsilon(0.05));
  }
}

TEST_CASE("fused weight fake-quant kernels with LWC equal the composed ops", "[gpu][fused]") {
  require_cuda();
  const ptq::quant::QuantizerSpec spec{4, false, 128};
  at::manual_seed(6);
  const at::Tensor w0 = at::randn({1024, 4096}) * 0.02;
  const at::Tensor up0 = ptq::quant::lwc_init(w0, spec) + at::randn({1024 * 32, 1});
  const at::Tensor g = at::randn(w0.sizes());
  const auto grads = [&](const c10::Device& d, bool fused) {
    at::Tensor w = w0.to(d).requires_grad_(true), up = up0.to(d).requires_grad_(true), low = up0.to(d).requires_grad_(true);
    const at::Tensor y = fused ? ptq::quant::fused_fake_quant_weight(w, spec, up, low) : ptq::quant::fake_quant_weight(w, spec, up, low);
    (y * g.to(d)).sum().backward();
    return std::vector<at::Tensor>{y.detach().cpu(), w.grad().cpu(), up.grad().cpu(), low.grad().cpu()};
  };
  const auto c = grads(at::kCPU, false), f = grads(at::Device("cuda"), true);
  CHECK(at::equal(f[0], c[0]));
  for (size_t k = 1; k < 4; ++k) CHECK(at::allclose(f[k], c[k], 1e-4, 1e-6));
}
