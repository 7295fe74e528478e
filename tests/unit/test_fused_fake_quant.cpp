// The fused per-token fake-quantizer (quant/fused_fake_quant.h) against the composed ops of
// fake_quant_per_token and their autograd (forward bit for bit, gradients to float summation order), and
// a hand-derived row. On CPU this checks the arithmetic the CUDA kernels share (fused_fake_quant_math.h);
// tests/gpu checks the kernels themselves.
#include "harness/quant/fused_fake_quant.h"
#include "harness/quant/uniform_quantizer.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

using ptq::quant::QuantizerSpec;

namespace {

// Activations with a few outlier channels, as LLM layer inputs have.
at::Tensor activations(int64_t tokens, int64_t width, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor x = at::randn({2, tokens, width});
  x.select(2, 3).mul_(25.0);
  x.select(2, width - 2).mul_(-40.0);
  return x;
}

struct Grads {
  at::Tensor y, gx, gclip;
};

Grads run(bool fused, const at::Tensor& x0, const QuantizerSpec& spec, const at::Tensor& w, double clip_init) {
  at::Tensor x = x0.clone().requires_grad_(true);
  at::Tensor clip = clip_init != 0 ? at::full({}, clip_init).requires_grad_(true) : at::Tensor();
  // The reference: the composed ops with autograd (fake_quant_per_token itself trains with the fused path).
  const at::Tensor y = fused ? ptq::quant::fused_fake_quant_per_token(x, spec, clip)
                             : ptq::quant::fake_quant_rows(x, ptq::quant::compute_qparams(x, spec, clip, clip), spec);
  (y * w).sum().backward();
  return {y.detach(), x.grad(), clip.defined() ? clip.grad() : at::Tensor()};
}

}  // namespace

TEST_CASE("fused per-token fake-quant: forward bit for bit and gradients as the composed ops", "[unit][quant][fused]") {
  for (int bits : {4, 8}) {
    for (double clip : {0.0, 2.5}) {  // without and with a learnable activation step (CBQ's S^X)
      INFO("bits " << bits << " clip logit " << clip);
      const QuantizerSpec spec{bits, false, 0};
      const at::Tensor x = activations(37, 96, 11 + bits);
      const at::Tensor w = at::randn(x.sizes());
      REQUIRE(ptq::quant::fused_per_token_supported(x, spec));
      const Grads c = run(false, x, spec, w, clip), f = run(true, x, spec, w, clip);
      CHECK(at::equal(f.y, c.y));
      CHECK(at::allclose(f.gx, c.gx, 1e-5, 1e-6));
      CHECK((f.gx - c.gx).abs().max().item<double>() < 1e-4 * c.gx.abs().max().item<double>());
      if (clip != 0) CHECK(f.gclip.item<double>() == Approx(c.gclip.item<double>()).epsilon(1e-4));
    }
  }
}

TEST_CASE("fused per-token fake-quant on a hand-derived 2-bit row", "[unit][quant][fused]") {
  // x = [-1, 0, 0.5, 2], q = 3: s = 1, z = 1; round(0.5) = 0 (half to even); y = [-1, 0, 0, 2].
  // dL/dy = 1: direct gradients 1; dL/ds = sum(grid - z - x) = -0.5, so dL/dmax = -1/6, dL/dmin = +1/6:
  // dL/dx = [1 + 1/6, 1, 1, 1 - 1/6].
  at::Tensor x = at::tensor({-1.0f, 0.0f, 0.5f, 2.0f}).reshape({1, 4}).requires_grad_(true);
  const at::Tensor y = ptq::quant::fused_fake_quant_per_token(x, QuantizerSpec{2, false, 0});
  CHECK(at::equal(y.detach(), at::tensor({-1.0f, 0.0f, 0.0f, 2.0f}).reshape({1, 4})));
  y.sum().backward();
  const at::Tensor expected = at::tensor({7.0f / 6, 1.0f, 1.0f, 5.0f / 6}).reshape({1, 4});
  CHECK(at::allclose(x.grad(), expected, 1e-6, 1e-6));
  // A clipped element gets no direct gradient. Min/max ranges clip nothing, so a clipping logit narrows
  // the range: 1 bit (q = 1), x = [0, 0.2, 1], c = sigmoid(0) = 0.5.
  at::Tensor x2 = at::tensor({0.0f, 0.2f, 1.0f}).reshape({1, 3}).requires_grad_(true);
  at::Tensor logit = at::full({}, 0.0).requires_grad_(true);  // hi = 0.5, lo = 0, s = 0.5, z = 0
  const at::Tensor y2 = ptq::quant::fused_fake_quant_per_token(x2, QuantizerSpec{1, false, 0}, logit);
  CHECK(at::allclose(y2.detach(), at::tensor({0.0f, 0.0f, 0.5f}).reshape({1, 3})));  // 1.0 / 0.5 = 2 clamps to 1
  y2.sum().backward();
  // dL/ds = sum(grid - z) - sum over unclipped of x / s = 1 - 0.2 / 0.5 = 0.6 = dL/dhi = -dL/dlo;
  // dL/dx = [1 (direct) - c * 0.6, 1, 0 (clipped) + c * 0.6]; dL/dlogit = 0.6 * (max - min) * c * (1 - c).
  CHECK(at::allclose(x2.grad(), at::tensor({0.7f, 1.0f, 0.3f}).reshape({1, 3}), 1e-6, 1e-6));
  CHECK(logit.grad().item<double>() == Approx(0.6 * 0.25));
}

TEST_CASE("fake_quant_per_token trains with the composed ops unless PTQ_FUSED_QUANT=on", "[unit][quant][fused]") {
  REQUIRE(ptq::quant::fused_policy() == ptq::quant::FusedPolicy::kOff);  // the tests run without the variable
  const QuantizerSpec spec{4, false, 0};
  const at::Tensor x0 = activations(5, 32, 3);
  at::Tensor a = x0.clone().requires_grad_(true), b = x0.clone().requires_grad_(true);
  const at::Tensor w = at::randn(x0.sizes());
  (ptq::quant::fake_quant_per_token(a, spec) * w).sum().backward();
  (ptq::quant::fake_quant_rows(b, ptq::quant::compute_qparams(b, spec), spec) * w).sum().backward();
  CHECK(at::equal(a.grad(), b.grad()));  // the very same computation
}

TEST_CASE("fused weight fake-quant with LWC: forward bit for bit, gradients as the composed ops", "[unit][quant][fused]") {
  for (int64_t group : {0, 16}) {
    for (int bits : {2, 4}) {
      INFO("group " << group << " bits " << bits);
      const QuantizerSpec spec{bits, false, group};
      at::manual_seed(7 + bits + group);
      const at::Tensor w0 = at::randn({48, 64}) * 0.05;
      w0.select(1, 5).mul_(20.0);  // an outlier input channel
      // LWC logits spread around OmniQuant's 4.0 init, so that some rows clip hard.
      const at::Tensor up0 = ptq::quant::lwc_init(w0, spec) + at::randn({w0.size(0) * (group > 0 ? 64 / group : 1), 1}) * 2;
      const at::Tensor low0 = ptq::quant::lwc_init(w0, spec) - at::rand({up0.size(0), 1}) * 3;
      const at::Tensor g = at::randn(w0.sizes());
      const auto grads = [&](bool fused) {
        at::Tensor w = w0.clone().requires_grad_(true), up = up0.clone().requires_grad_(true), low = low0.clone().requires_grad_(true);
        const at::Tensor y = fused ? ptq::quant::fused_fake_quant_weight(w, spec, up, low) : ptq::quant::fake_quant_weight(w, spec, up, low);
        (y * g).sum().backward();
        return std::vector<at::Tensor>{y.detach(), w.grad(), up.grad(), low.grad()};
      };
      REQUIRE(ptq::quant::fused_weight_supported(w0, spec));
      const auto c = grads(false), f = grads(true);
      CHECK(at::equal(f[0], c[0]));
      CHECK(at::allclose(f[1], c[1], 1e-5, 1e-6));
      CHECK(at::allclose(f[2], c[2], 1e-4, 1e-7));
      CHECK(at::allclose(f[3], c[3], 1e-4, 1e-7));
      CHECK(c[2].abs().sum().item<double>() > 0);  // the logits do get gradient (the test can fail)
    }
  }
}

TEST_CASE("the fused path refuses what it does not handle", "[unit][quant][fused]") {
  const at::Tensor x = at::randn({4, 8});
  CHECK_FALSE(ptq::quant::fused_per_token_supported(x, QuantizerSpec{4, true, 0}));    // symmetric
  CHECK_FALSE(ptq::quant::fused_per_token_supported(x.to(at::kDouble), QuantizerSpec{4, false, 0}));
  CHECK_FALSE(ptq::quant::fused_per_token_supported(x, QuantizerSpec{16, false, 0}));  // nothing to do
  CHECK_THROWS_AS(ptq::quant::fused_fake_quant_per_token(x, QuantizerSpec{4, true, 0}), std::invalid_argument);
  CHECK_THROWS_AS(ptq::quant::fused_fake_quant_per_token(x, QuantizerSpec{4, false, 0}, at::zeros({2})), std::invalid_argument);
  CHECK_FALSE(ptq::quant::fused_weight_supported(x, QuantizerSpec{4, false, 3}));  // 3 does not divide 8
  CHECK_THROWS_AS(ptq::quant::fused_fake_quant_weight(x, QuantizerSpec{4, false, 0}, at::zeros({3, 1})), std::invalid_argument);
}
