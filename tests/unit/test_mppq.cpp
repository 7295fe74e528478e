// MPPQ's three parts against naive computations written here (proxy rounding, the mixed loss, the
// clipping pre-search on a weight with planted outliers), then the method end to end on a random model.
#include "harness/model/llama_model.h"
#include "harness/ptq/quant_setting.h"
#include "harness/quant/uniform_quantizer.h"
#include "methods/mppq/clip_search.h"
#include "methods/mppq/mixed_loss.h"
#include "methods/register_all.h"
#include "tests/support/apply_method.h"
#include "tests/support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>

using Catch::Matchers::Contains;
using ptq::quant::QuantSetting;
using ptq::test::calibration_ids;
using ptq::test::copy_model;
using ptq::test::last_hidden;
using ptq::test::apply_method;

namespace {

ptq::quant::QuantizerSpec bits(int b) {
  ptq::quant::QuantizerSpec s;
  s.bits = b;
  return s;
}

// Min/max asymmetric quantization of one row with both ends times c (LWC's form), in double.
std::vector<double> naive_clipped_row(const std::vector<double>& row, int b, double c) {
  double lo = row[0], hi = row[0];
  for (double v : row) lo = std::min(lo, v), hi = std::max(hi, v);
  lo *= c;
  hi *= c;
  const double qmax = std::pow(2.0, b) - 1;
  const double scale = std::min(std::max((hi - lo) / qmax, 1e-5), 1e4);
  const double zero = std::nearbyint(-lo / scale);
  std::vector<double> out;
  for (double v : row) out.push_back((std::min(std::max(std::nearbyint(v / scale) + zero, 0.0), qmax) - zero) * scale);
  return out;
}

}  // namespace

TEST_CASE("proxy rounding: P = 0 is RTN, a proxy moves exactly the element it scales, P gets gradients", "[unit][mppq]") {
  at::manual_seed(1);
  const at::Tensor w = at::randn({8, 16});
  CHECK(at::allclose(ptq::quant::fake_quant_weight_proxy(w, bits(4), {}, {}, at::zeros_like(w)),
                     ptq::quant::fake_quant_weight(w, bits(4)), 0, 1e-6));
  // Row [0, 1, 2, 3] at 2 bits: scale 1, zero 0. exp(P) = 2 on element 1: round(0.5) = 0 (half to even);
  // exp(P) = 1.5 on element 2: round(1.33) = 1. De-quantized with the scale alone: [0, 0, 1, 3].
  const at::Tensor row = at::tensor({0.0f, 1.0f, 2.0f, 3.0f}).reshape({1, 4});
  const at::Tensor p = at::tensor({0.0f, std::log(2.0f), std::log(1.5f), 0.0f}).reshape({1, 4}).requires_grad_(true);
  ptq::quant::QParams qp;
  const at::Tensor out = ptq::quant::fake_quant_weight_proxy(row, bits(2), {}, {}, p, &qp);
  CHECK(out.detach().equal(at::tensor({0.0f, 0.0f, 1.0f, 3.0f}).reshape({1, 4})));
  CHECK(qp.scale.item<double>() == Approx(1.0));
  (out * at::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({1, 4})).sum().backward();
  REQUIRE(p.grad().defined());
  // d out_j / d P_j = -scale * (w_j / (scale exp(P_j))) (straight-through rounding), inside the grid.
  CHECK(p.grad()[0][1].item<double>() == Approx(-2.0 * 0.5));
  CHECK(p.grad()[0][2].item<double>() == Approx(-3.0 * 2.0 / 1.5));
}

TEST_CASE("mixed supervision is the weighted sum of MSE, NLC and KL (naive double loops)", "[unit][mppq]") {
  at::manual_seed(2);
  const at::Tensor fp = at::randn({2, 3, 6}, at::kDouble), q = fp + 0.4 * at::randn({2, 3, 6}, at::kDouble);
  double mse = 0, cos_sum = 0, kl = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 3; ++t) {
      double dot = 0, na = 0, nb = 0, zf = 0, zq = 0;
      for (int64_t k = 0; k < 6; ++k) {
        const double a = q[b][t][k].item<double>(), f = fp[b][t][k].item<double>();
        mse += (a - f) * (a - f);
        dot += a * f, na += a * a, nb += f * f;
        zf += std::exp(f), zq += std::exp(a);
      }
      cos_sum += dot / std::sqrt(na * nb);
      for (int64_t k = 0; k < 6; ++k) {
        const double pf = std::exp(fp[b][t][k].item<double>()) / zf, pq = std::exp(q[b][t][k].item<double>()) / zq;
        kl += pf * std::log(pf / pq);
      }
    }
  const double want = 0.5 * mse / 36 + 2.0 * -std::log(std::abs(cos_sum / 6)) + 0.25 * kl / 6;
  CHECK(ptq::methods::mixed_loss(q, fp, {0.5, 2.0, 0.25}).item<double>() == Approx(want).epsilon(1e-5));
}

TEST_CASE("clipping pre-search picks the best grid factor on a weight with planted outliers", "[unit][mppq]") {
  at::manual_seed(3);
  at::Tensor w = at::randn({16, 64});
  for (int64_t r = 0; r < 16; ++r) w[r][(r * 7) % 64] = 12.0;  // one planted outlier per row
  const at::Tensor x = at::randn({256, 64});
  const auto grid = ptq::methods::default_clip_grid();
  const auto got = ptq::methods::search_clip_ratio(w, x, bits(3), grid);
  // Naive: the layer-output error of every grid point, by explicit loops over rows and tokens.
  const at::Tensor wd = w.to(at::kDouble), xd = x.to(at::kDouble);
  double best = 1e300, best_c = 0;
  for (size_t g = 0; g < grid.size(); ++g) {
    at::Tensor wq = at::empty_like(wd);
    for (int64_t r = 0; r < 16; ++r) {
      std::vector<double> row(64);
      for (int64_t k = 0; k < 64; ++k) row[k] = wd[r][k].item<double>();
      const auto q = naive_clipped_row(row, 3, grid[g]);
      for (int64_t k = 0; k < 64; ++k) wq[r][k] = q[k];
    }
    const double err = at::matmul(xd, (wd - wq).t()).pow(2).sum().item<double>();
    CHECK(got.errors[g] == Approx(err).epsilon(1e-3));
    if (err < best) best = err, best_c = grid[g];
  }
  CHECK(got.ratio == best_c);
  CHECK(best_c < 0.95);  // the planted outliers make clipping pay
  CHECK_THROWS_WITH(ptq::methods::search_clip_ratio(w, x.narrow(1, 0, 32), bits(3), grid), Contains("input features"));
}

TEST_CASE("MPPQ beats RTN on a random model, folds onto the integer grid, and every ablation runs", "[unit][mppq]") {
  at::manual_seed(4);
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 71);
  const at::Tensor calib = calibration_ids(4, 32, 97);
  const at::Tensor ref = last_hidden(fp, calib);
  for (const std::string setting : {"W2A16", "W4A4"}) {
    INFO(setting);
    ptq::LlamaModel rtn = copy_model(fp);
    apply_method(rtn, "rtn", setting, nlohmann::json::object(), calib);
    ptq::LlamaModel q = copy_model(fp);
    const auto report = apply_method(q, "mppq", setting, {{"epochs", 10}}, calib);
    const double err_rtn = at::mse_loss(last_hidden(rtn, calib), ref).item<double>();
    const double err_mppq = at::mse_loss(last_hidden(q, calib), ref).item<double>();
    INFO("output MSE: RTN " << err_rtn << ", MPPQ " << err_mppq);
    CHECK(err_mppq < 0.7 * err_rtn);
    CHECK(report.summary["proxy_rounding"] == true);
    // Folded weights lie on their grid: weight / scale + zero is an integer in [0, 2^b - 1].
    at::Tensor scale, zero;
    for (const auto& [name, t] : report.qparams) {
      if (name == "model.layers.1.mlp.down_proj.weight_scale") scale = t;
      if (name == "model.layers.1.mlp.down_proj.weight_zero") zero = t;
    }
    REQUIRE(scale.defined());
    const at::Tensor grid = q.block(1).down_proj.weight / scale + zero;
    CHECK((grid - grid.round()).abs().max().item<double>() < 1e-3);
  }
  for (const nlohmann::json& ablation : {nlohmann::json{{"proxy", false}}, nlohmann::json{{"presearch", false}},
                                         nlohmann::json{{"kl_weight", 0.0}}}) {
    INFO(ablation.dump());
    ptq::LlamaModel m = copy_model(fp);
    nlohmann::json config = ablation;
    config["epochs"] = 2;
    apply_method(m, "mppq", "W4A4", config, calib);
    CHECK(std::isfinite(at::mse_loss(last_hidden(m, calib), ref).item<double>()));
  }
  CHECK_THROWS_WITH(ptq::methods::registry().get("mppq").resolve_config({{"presearch_grid", {0.9, 1.5}}}),
                    Contains("presearch_grid value 1.5"));
}

// Issue #25: LRQuant trained 20 epochs at W2A16 while MPPQ (built on its pipeline) trained 40, so the
// W2A16 comparison was not matched. Both now follow one rule: 20, and 40 for 2-bit weights.
TEST_CASE("LRQuant and MPPQ train for the same default budget: 20 epochs, 40 at 2-bit weights", "[unit][mppq][lrquant]") {
  ptq::test::TinyShape shape;
  shape.layers = 1;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(shape), 66);
  at::manual_seed(6);
  const at::Tensor calib = ptq::test::calibration_ids(1, 8, 97);
  for (const char* method : {"lrquant", "mppq"})
    for (const auto& [setting, epochs] : {std::pair<const char*, int>{"W2A16", 40}, {"W4A4", 20}}) {
      INFO(method << " " << setting);
      ptq::LlamaModel m = ptq::test::copy_model(fp);
      CHECK(apply_method(m, method, setting, nlohmann::json::object(), calib).summary["epochs"].get<int>() == epochs);
    }
}

// Issue #25: the abstract's "strong regularization for learnable parameters" (our reading: an L2 pull of
// the trained parameters toward their initial values). A very strong pull keeps the model at its
// initial fold; without it training moves it away.
TEST_CASE("MPPQ's parameter regularisation pulls the trained parameters toward their initial values", "[unit][mppq]") {
  ptq::test::TinyShape shape;
  shape.layers = 1;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(shape), 67);
  at::manual_seed(9);
  const at::Tensor calib = ptq::test::calibration_ids(2, 16, 97);
  const auto run = [&](int epochs, double lambda) {
    ptq::LlamaModel m = ptq::test::copy_model(fp);
    const auto r = apply_method(m, "mppq", "W4A4", {{"epochs", epochs}, {"param_regularization", lambda}, {"proxy_lr", 1e-2}}, calib);
    CHECK(r.summary["param_regularization"].get<double>() == lambda);
    return ptq::test::last_hidden(m, calib);
  };
  const at::Tensor init = run(0, 0), free = run(4, 0), pinned = run(4, 1e4);
  const double moved_free = (free - init).pow(2).mean().item<double>(), moved_pinned = (pinned - init).pow(2).mean().item<double>();
  INFO("output change from the initial fold: lambda 0 " << moved_free << ", lambda 1e4 " << moved_pinned);
  CHECK(moved_free > 0);
  CHECK(moved_pinned < 0.5 * moved_free);  // Adam still steps each parameter by ~lr around its anchor
}
