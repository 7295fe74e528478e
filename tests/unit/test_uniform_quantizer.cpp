// The shared fake-quantizer against hand-computed values and naive loops written here.
#include "harness/quant/uniform_quantizer.h"
#include "tests/support/naive_llama.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

using ptq::quant::QuantizerSpec;
using ptq::quant::RangeRule;

namespace {

QuantizerSpec spec(int bits, int64_t group = 0, bool symmetric = false, RangeRule range = RangeRule::kMinMax) {
  return {bits, symmetric, group, range};
}

std::vector<float> to_vec(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

TEST_CASE("hand-computed 2-bit row: scale 1, zero 1, round half to even", "[unit][quant]") {
  // xmin -1, xmax 2: scale = 3/3 = 1, zero = round(1) = 1; 0.5 rounds to 0 (half to even) -> q 1 -> 0.
  const at::Tensor w = at::tensor({-1.0f, 0.0f, 0.5f, 2.0f, 1.5f, -0.4f}).view({1, 6});
  ptq::quant::QParams qp;
  const at::Tensor out = ptq::quant::fake_quant_weight(w, spec(2), {}, {}, &qp);
  CHECK(to_vec(out) == std::vector<float>{-1, 0, 0, 2, 2, 0});  // 1.5 -> round 2 -> q 3 -> (3 - 1) * 1 = 2
  CHECK(qp.scale.item<float>() == 1.0f);
  CHECK(qp.zero.item<float>() == 1.0f);
}

TEST_CASE("per-channel and per-group weights equal the naive row loop", "[unit][quant]") {
  const at::Tensor w = at::randn({6, 16}) * 0.3;
  for (const int bits : {2, 3, 4, 8}) {
    for (const int64_t group : {int64_t{0}, int64_t{4}, int64_t{8}}) {
      ptq::quant::QParams qp;
      const at::Tensor out = ptq::quant::fake_quant_weight(w, spec(bits, group), {}, {}, &qp);
      const int64_t g = group ? group : 16;
      CHECK(qp.scale.sizes() == at::IntArrayRef({6, 16 / g}));
      const auto got = to_vec(out), all = to_vec(w);
      for (int64_t r = 0; r < 6; ++r)
        for (int64_t c0 = 0; c0 < 16; c0 += g) {
          const std::vector<float> row(all.begin() + r * 16 + c0, all.begin() + r * 16 + c0 + g);
          const auto ref = ptq::test::naive_fake_quant_row(row, bits);
          for (int64_t j = 0; j < g; ++j) CHECK(got[r * 16 + c0 + j] == ref[j]);
          // Every value lies on its group's grid of 2^bits levels.
          std::set<float> levels(got.begin() + r * 16 + c0, got.begin() + r * 16 + c0 + g);
          CHECK(levels.size() <= static_cast<size_t>(1 << bits));
        }
    }
  }
}

TEST_CASE("per-token activations: one range per token (and per head for Q/K/V)", "[unit][quant]") {
  const at::Tensor x = at::randn({2, 3, 5, 8});  // [B, heads, T, head_dim]
  const at::Tensor out = ptq::quant::fake_quant_per_token(x, spec(4));
  const auto all = to_vec(x), got = to_vec(out);
  for (int64_t row = 0; row < 2 * 3 * 5; ++row) {
    const std::vector<float> r(all.begin() + row * 8, all.begin() + row * 8 + 8);
    const auto ref = ptq::test::naive_fake_quant_row(r, 4);
    for (int j = 0; j < 8; ++j) CHECK(got[row * 8 + j] == ref[j]);
  }
  // Non-contiguous input (a transposed view) gives the same rows.
  const at::Tensor xt = x.transpose(1, 2).contiguous().transpose(1, 2);
  CHECK(ptq::quant::fake_quant_per_token(xt, spec(4)).equal(out));
  CHECK(ptq::quant::fake_quant_per_token(x, spec(16)).is_same(x));  // 16 bits: identity
}

TEST_CASE("per-token step clipping (CBQ's S^X): hand-computed row, gradient to the logit", "[unit][quant]") {
  // x = [-1, 0, 0.5, 3], 2 bits, clip logit 0 -> factor 0.5: range [-0.5, 1.5], scale 2/3, zero round(0.75) = 1;
  // x / scale = [-1.5, 0, 0.75, 4.5] -> round half to even [-2, 0, 1, 4] + 1 -> clamp [0, 3] -> [0, 1, 2, 3];
  // minus the zero point times the scale: [-2/3, 0, 2/3, 4/3].
  const at::Tensor x = at::tensor({-1.0f, 0.0f, 0.5f, 3.0f}).reshape({1, 4});
  const at::Tensor logit = at::zeros({}, at::kFloat).requires_grad_(true);
  const at::Tensor out = ptq::quant::fake_quant_per_token(x, spec(2), logit);
  const auto got = to_vec(out.detach());
  const std::vector<float> want = {-2.0f / 3, 0.0f, 2.0f / 3, 4.0f / 3};
  for (int j = 0; j < 4; ++j) CHECK(got[j] == Approx(want[j]).margin(1e-6));
  out.sum().backward();
  CHECK(logit.grad().defined());
  CHECK(logit.grad().item<double>() != 0);
  // A logit of kNoActClipLogit-size clips nothing: the plain min/max quantizer.
  const at::Tensor rows = at::randn({6, 16});
  CHECK(ptq::quant::fake_quant_per_token(rows, spec(4), at::full({}, 30.0)).equal(ptq::quant::fake_quant_per_token(rows, spec(4))));
}

TEST_CASE("symmetric: absmax / (2^(N-1) - 1), zero 2^(N-1) - 1", "[unit][quant]") {
  // 3 bits: half = 3; absmax 1.5 -> scale 0.5, zero 3; grid -1.5 .. +2.0
  const at::Tensor w = at::tensor({-1.5f, -0.3f, 0.26f, 1.2f}).view({1, 4});
  ptq::quant::QParams qp;
  const at::Tensor out = ptq::quant::fake_quant_weight(w, spec(3, 0, true), {}, {}, &qp);
  CHECK(qp.scale.item<float>() == 0.5f);
  CHECK(qp.zero.item<float>() == 3.0f);
  // -0.3/0.5 = -0.6 -> -1 -> -0.5; 0.26/0.5 = 0.52 -> 1 -> 0.5; 1.2/0.5 = 2.4 -> 2 -> 1.0
  CHECK(to_vec(out) == std::vector<float>{-1.5f, -0.5f, 0.5f, 1.0f});
}

TEST_CASE("zero-range rows behave exactly as OmniQuant's clamp makes them", "[unit][quant]") {
  // All zeros: scale clamps to 1e-5, zero 0 -> stays 0. A constant 5.0 row: scale 1e-5, zero clamps to
  // -1e4, q = clamp(5e5 - 1e4, 0, 15) = 15 -> (15 + 1e4) * 1e-5 = 0.10015 (OmniQuant's own result).
  const at::Tensor w = at::tensor({0.0f, 0.0f, 0.0f, 5.0f, 5.0f, 5.0f}).view({2, 3});
  const auto out = to_vec(ptq::quant::fake_quant_weight(w, spec(4)));
  CHECK(out[0] == 0.0f);
  CHECK(out[3] == Approx(0.10015).epsilon(1e-5));
  CHECK(out[5] == out[3]);
}

TEST_CASE("GPTQ --nearest: range contains 0, unclamped scale, all-zero rows use [-1, 1]", "[unit][quant]") {
  // Row [0.5, 1.0, 2.0, 3.0]: xmin = min(0.5, 0) = 0, xmax 3 -> scale 1 (2 bits), zero 0
  // Row of zeros: [-1, 1] -> scale 2/3, zero round(1.5) = 2, values stay 0
  const at::Tensor w = at::tensor({0.5f, 1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 0.0f, 0.0f}).view({2, 4});
  ptq::quant::QParams qp;
  const auto out = to_vec(ptq::quant::fake_quant_weight(w, spec(2, 0, false, RangeRule::kGptqNearest), {}, {}, &qp));
  CHECK(std::vector<float>(out.begin(), out.begin() + 4) == std::vector<float>{0.0f, 1.0f, 2.0f, 3.0f});
  CHECK(qp.scale[1][0].item<float>() == Approx(2.0 / 3.0));
  CHECK(qp.zero[1][0].item<float>() == 2.0f);
  CHECK(std::vector<float>(out.begin() + 4, out.end()) == std::vector<float>{0, 0, 0, 0});
  // With plain min/max the first row would not include 0: scale (3 - 0.5) / 3.
  ptq::quant::QParams mm;
  ptq::quant::fake_quant_weight(w, spec(2), {}, {}, &mm);
  CHECK(mm.scale[0][0].item<float>() == Approx(2.5 / 3.0));
}

TEST_CASE("straight-through rounding: gradient 1 inside the range, 0 where LWC clips", "[unit][quant]") {
  const at::Tensor w = at::linspace(-1.0, 1.0, 9).view({1, 9}).clone().set_requires_grad(true);
  // Logits log(4) give sigmoid 0.8: the range shrinks to [-0.8, 0.8] (scale 1.6/15, zero 8) and only -1
  // and +1 fall off the integer grid. The range is computed from a detached copy so that only the
  // straight-through path reaches w (min/max also pass gradient to the extremes; tested below).
  const at::Tensor up = at::full({1, 1}, std::log(4.0));
  const at::Tensor low = at::full({1, 1}, std::log(4.0));
  const auto qp = ptq::quant::compute_qparams(w.detach(), spec(4), up, low);
  ptq::quant::fake_quant_rows(w, qp, spec(4)).sum().backward();
  const auto g = to_vec(w.grad());
  CHECK(g.front() == 0.0f);  // -1.0 clipped
  CHECK(g.back() == 0.0f);   // +1.0 clipped
  for (size_t i = 1; i + 1 < g.size(); ++i) CHECK(g[i] == 1.0f);
}

TEST_CASE("min/max pass gradient to the extreme elements through the scale", "[unit][quant]") {
  const at::Tensor w = at::tensor({-1.0, -0.3, 0.2, 0.9}, at::kDouble).view({1, 4}).set_requires_grad(true);
  ptq::quant::fake_quant_weight(w, spec(4)).sum().backward();
  // Inner elements: STE gradient 1 only. Extremes: 1 plus their effect on the scale, which is not zero.
  CHECK(w.grad()[0][1].item<double>() == 1.0);
  CHECK(w.grad()[0][2].item<double>() == 1.0);
  CHECK(w.grad()[0][0].item<double>() != 1.0);
}

TEST_CASE("LWC gradients equal the hand-derived STE gradient (scale derivative by finite differences)",
          "[unit][quant]") {
  // loss = sum(c_i * out_i). With u = x / s, q = clamp(round(u) + z, 0, qmax), out = (q - z) * s and STE:
  //   d out / d s = (q - z) - [q not clipped] * x / s        (z carries no gradient)
  // and s(up, low) = clamp((sigmoid(up) xmax - sigmoid(low) xmin) / qmax): d s / d logit by central differences.
  at::manual_seed(3);
  const at::Tensor w = at::randn({3, 8}, at::kDouble);
  const at::Tensor coef = at::randn({3, 8}, at::kDouble);
  const at::Tensor up = at::full({3, 1}, 2.0, at::kDouble).set_requires_grad(true);
  const at::Tensor low = at::full({3, 1}, 1.0, at::kDouble).set_requires_grad(true);
  (ptq::quant::fake_quant_weight(w, spec(3), up, low) * coef).sum().backward();

  const auto scale_of = [&](double u_logit, double l_logit, int64_t row) {
    const double xmax = w[row].max().item<double>(), xmin = w[row].min().item<double>();
    const double s = (1 / (1 + std::exp(-u_logit)) * xmax - 1 / (1 + std::exp(-l_logit)) * xmin) / 7.0;
    return std::min(std::max(s, 1e-5), 1e4);
  };
  for (int64_t r = 0; r < 3; ++r) {
    const double s = scale_of(2.0, 1.0, r), h = 1e-6;
    const double ds_dup = (scale_of(2.0 + h, 1.0, r) - scale_of(2.0 - h, 1.0, r)) / (2 * h);
    const double ds_dlow = (scale_of(2.0, 1.0 + h, r) - scale_of(2.0, 1.0 - h, r)) / (2 * h);
    const double xmin_c = 1 / (1 + std::exp(-1.0)) * w[r].min().item<double>();
    const double z = std::nearbyint(std::min(std::max(-xmin_c / s, -1e4), 1e4));
    double dloss_ds = 0;
    for (int64_t i = 0; i < 8; ++i) {
      const double x = w[r][i].item<double>();
      const double q_raw = std::nearbyint(x / s) + z;
      const double q = std::min(std::max(q_raw, 0.0), 7.0);
      const bool clipped = q_raw < 0 || q_raw > 7;
      dloss_ds += coef[r][i].item<double>() * ((q - z) - (clipped ? 0.0 : x / s));
    }
    CHECK(up.grad()[r][0].item<double>() == Approx(dloss_ds * ds_dup).epsilon(1e-6));
    CHECK(low.grad()[r][0].item<double>() == Approx(dloss_ds * ds_dlow).epsilon(1e-6));
  }
}

TEST_CASE("LWC init: one logit pair per output channel or group, 4.0", "[unit][quant]") {
  const at::Tensor w = at::randn({4, 16});
  CHECK(ptq::quant::lwc_init(w, spec(4)).sizes() == at::IntArrayRef({4, 1}));
  CHECK(ptq::quant::lwc_init(w, spec(4, 8)).sizes() == at::IntArrayRef({8, 1}));
  CHECK(ptq::quant::lwc_init(w, spec(4)).eq(4.0).all().item<bool>());
  // sigmoid(4) = 0.982: the initial range is 98.2 % of min/max, so init already differs from RTN.
  const at::Tensor logits = ptq::quant::lwc_init(w, spec(4));
  CHECK_FALSE(ptq::quant::fake_quant_weight(w, spec(4), logits, logits).equal(ptq::quant::fake_quant_weight(w, spec(4))));
}

TEST_CASE("inference and autograd paths give identical values", "[unit][quant]") {
  const at::Tensor w = at::randn({8, 32});
  const at::Tensor plain = ptq::quant::fake_quant_weight(w, spec(3, 8));
  const at::Tensor with_grad = ptq::quant::fake_quant_weight(w.clone().set_requires_grad(true), spec(3, 8));
  CHECK(plain.equal(with_grad.detach()));
}
