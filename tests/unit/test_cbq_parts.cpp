// CBQ's building blocks: CFP finds exactly the planted outlier channels of a synthetic activation and
// its scaling folds exactly; weight truncation clips only planted entries; LoRA-Rounding starts near
// the weight, hardens to an integer grid, and is much smaller than full-rank AdaRound; the window
// schedule enumerates the expected block sets.
#include "harness/model/llama_model.h"
#include "harness/util/errors.h"
#include "methods/cbq/cfp.h"
#include "methods/cbq/lora_rounding.h"
#include "harness/recon/window_schedule.h"
#include "methods/omniquant/let.h"
#include "tests/support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

using namespace ptq::methods::cbq;
using ptq::recon::Window;
using ptq::recon::window_schedule;

TEST_CASE("CFP finds exactly the planted outlier channels of an activation, on both sides", "[unit][cbq]") {
  at::manual_seed(1);
  at::Tensor x = at::randn({512, 96});  // tokens x channels: max/min about +-3
  for (int64_t c : {7, 50, 60}) x.select(1, c).add_(30);  // planted positive outliers
  x.select(1, 20).mul_(2);                                 // a mild channel: a coarse candidate, not an outlier
  x.select(1, 81).add_(-40);                               // a planted negative outlier
  const at::Tensor mx = std::get<0>(x.max(0)), mn = std::get<0>(x.min(0));
  for (const auto& [lo, hi] : {std::pair<double, double>{0.25, 0.75}, {0.20, 0.80}}) {
    CfpOptions o;
    o.q_low = lo;
    o.q_high = hi;
    const ActivationOutliers a = activation_outlier_scales(mx, mn, o);
    std::vector<int64_t> pos = a.positive, neg = a.negative;
    std::sort(pos.begin(), pos.end());
    CHECK(pos == std::vector<int64_t>{7, 50, 60});
    CHECK(neg == std::vector<int64_t>{81});
    // Scales: (max_c / max_normal)^0.7 on the outliers, 1 elsewhere.
    double max_normal = 0;
    for (int64_t c = 0; c < 96; ++c)
      if (c != 7 && c != 50 && c != 60) max_normal = std::max(max_normal, mx[c].item<double>());
    CHECK(a.scale[7].item<double>() == Approx(std::pow(mx[7].item<double>() / max_normal, 0.7)).epsilon(1e-5));
    CHECK(a.scale[3].item<double>() == 1.0);
    CHECK(a.scale[81].item<double>() > 1.0);
  }
}

TEST_CASE("CFP scales fold exactly into the norm -> linear pairs", "[unit][cbq]") {
  at::manual_seed(2);
  const auto c = ptq::test::tiny_config();
  const auto m = ptq::test::random_model(c, 51);
  const at::Tensor x = at::randn({1, 16, c.hidden_size});
  const auto rope = m.rope(16);
  ptq::methods::LetParams p;  // CFP's scales in LET's form: norm / s, columns * s; v->o and q/k untouched
  p.qkv_scale = at::ones({c.hidden_size});
  p.qkv_scale[5] = 7.5;
  p.fc1_scale = at::ones({c.hidden_size});
  p.fc1_scale[11] = 3.0;
  p.out_scale = at::ones({c.kv_dim()});
  const auto folded = ptq::methods::let_transform(m.block(0), c, p);
  CHECK((ptq::decoder_block_forward(folded, c, x, rope) - ptq::decoder_block_forward(m.block(0), c, x, rope)).abs().max().item<double>() < 1e-5);
}

TEST_CASE("CFP weight truncation clips the planted entries of each row to the row's threshold", "[unit][cbq]") {
  at::manual_seed(3);
  at::Tensor w = at::randn({6, 128}) * 0.02;
  w[2][9] = 0.9;
  w[4][100] = -0.7;
  const at::Tensor before = w.clone();
  const int64_t changed = truncate_weight_outliers(w, CfpOptions{});
  CHECK(changed >= 2);
  CHECK(std::abs(w[2][9].item<double>()) < 0.2);
  CHECK(w[4][100].item<double>() < 0);  // the sign is kept
  CHECK(std::abs(w[4][100].item<double>()) < 0.2);
  // Only outliers move: at most a handful of entries per row.
  CHECK((w != before).sum().item<int64_t>() == changed);
  CHECK(changed <= 6 * 6);
}

// Issue #25: scaling first made the scaled columns the rows' outliers, so the truncation clipped exactly
// the weights that carry the moved activation outliers. Now the truncation sees the FP weights and the
// scaled column is the truncated FP column times s, whole.
TEST_CASE("CFP truncates the FP weights first, then folds the activation scales in whole", "[unit][cbq]") {
  const ptq::LlamaModel m = ptq::test::random_model(ptq::test::tiny_config(), 71);
  ptq::DecoderBlock fp = m.block(0);
  const int64_t c = 5;
  fp.input_layernorm[c] = 30.0;  // the q/k/v input's channel 5: a 30x activation outlier
  const at::Tensor ids = ptq::test::calibration_ids(2, 16, 97);
  const at::Tensor x = m.embed(ids);
  nlohmann::json log;
  const ptq::DecoderBlock b =
      ptq::methods::cbq::cfp_transform_block(fp, m.config(), x, m.rope(16), 1, {}, {true, true}, log);
  const double s_c = (fp.input_layernorm[c] / b.input_layernorm[c]).item<double>();
  REQUIRE(s_c > 4);  // the channel was found and scaled
  CHECK(log["outlier_channels"]["qkv_input"].get<int64_t>() >= 1);
  at::Tensor truncated = fp.q_proj.weight.clone();
  ptq::methods::cbq::truncate_weight_outliers(truncated, {});
  CHECK(at::allclose(b.q_proj.weight.select(1, c), truncated.select(1, c) * s_c, 1e-5, 1e-6));
  // The other order would have clipped the scaled column in most rows.
  at::Tensor scaled_first = fp.q_proj.weight.clone();
  scaled_first.select(1, c).mul_(s_c);
  ptq::methods::cbq::truncate_weight_outliers(scaled_first, {});
  const double clipped_rows =
      (scaled_first.select(1, c).abs() < (truncated.select(1, c) * s_c).abs() - 1e-6).to(at::kFloat).mean().item<double>();
  INFO("rows whose scaled column the old order clips: " << clipped_rows);
  CHECK(clipped_rows > 0.3);
}

TEST_CASE("LoRA-Rounding: near the weight at init, integer grid once hardened, (d+k)r parameters", "[unit][cbq]") {
  at::manual_seed(4);
  const at::Tensor w = at::randn({64, 96}) * 0.05;
  for (const int64_t group : {int64_t{0}, int64_t{32}}) {
    INFO("group " << group);
    ptq::quant::QuantizerSpec spec;
    spec.bits = 4;
    spec.group_size = group;
    ptq::quant::QParams qp;
    const at::Tensor rtn = ptq::quant::fake_quant_weight(w, spec, {}, {}, &qp);
    const LoraRounding full(w, qp, spec, {0});
    const LoraRounding lora(w, qp, spec, {8});
    CHECK(full.parameter_count() == 64 * 96);
    CHECK(lora.parameter_count() == (64 + 96) * 8);
    // Full rank starts exactly at AdaRound's init (h = frac): the soft weight is W itself except where the
    // rounded zero point pushes W / S + z off the grid [0, 15] (at most half a step).
    const at::Tensor step = (group > 0 ? qp.scale.reshape({-1, 1}).expand({-1, group}).reshape({64, 96}) : qp.scale.expand({64, 96}));
    const at::Tensor diff = (full.quantized(qp.scale, LoraRounding::Offsets::kSoft) - w).abs();
    CHECK((diff <= 0.5 * step + 1e-6).all().item<bool>());
    CHECK((diff < 1e-5).to(at::kFloat).mean().item<double>() > 0.9);
    // Hardened: (w_q / scale + zero) is an integer in [0, 15], within one step of W / scale + zero.
    for (const LoraRounding* r : {&full, &lora}) {
      const at::Tensor hard = r->quantized(qp.scale, LoraRounding::Offsets::kHard);
      const at::Tensor rows = group > 0 ? hard.reshape({-1, group}) : hard;
      const at::Tensor grid = rows / qp.scale.reshape({-1, 1}) + qp.zero.reshape({-1, 1});
      CHECK((grid - grid.round()).abs().max().item<double>() < 1e-3);
      CHECK(grid.min().item<double>() > -1e-3);
      CHECK(grid.max().item<double>() < 15 + 1e-3);
      CHECK(((hard - rtn).abs() <= step + 1e-6).all().item<bool>());  // within one step of RTN
    }
    CHECK(full.regularizer(2.0).item<double>() >= 0);
    // A learned step rescales the integer grid of the initial step: no element changes bucket, so at
    // 1.07 x S0 the hardened weight is exactly 1.07 x the hardened weight at S0 (re-flooring W / S would
    // move every element within 7 % of a grid point into the next bucket).
    const at::Tensor at_s0 = lora.quantized(qp.scale, LoraRounding::Offsets::kHard);
    CHECK(at::allclose(lora.quantized(qp.scale * 1.07, LoraRounding::Offsets::kHard), at_s0 * 1.07, 1e-5, 1e-6));
    // Straight-through: the hardened weight forward, a gradient reaching the rounding parameters.
    const at::Tensor ste = lora.quantized(qp.scale, LoraRounding::Offsets::kStraightThrough);
    CHECK(at::allclose(ste, at_s0, 1e-6, 1e-7));
    ste.pow(2).sum().backward();
    CHECK(lora.parameters()[0].grad().defined());
    CHECK(lora.parameters()[0].grad().abs().sum().item<double>() > 0);
  }
  CHECK(rounding_beta(0.1) < 0);  // warm-up: no regulariser
  CHECK(rounding_beta(0.2) == Approx(20.0));
  CHECK(rounding_beta(1.0) == Approx(2.0));
  CHECK(rounding_beta(0.6) == Approx(11.0));
}

TEST_CASE("CBQ window schedule: window 2 overlap 1, no cross-block, and wider windows", "[unit][cbq]") {
  const auto blocks = [](const std::vector<Window>& s) {
    std::vector<std::vector<int64_t>> b;
    for (const auto& w : s) b.push_back(w.blocks);
    return b;
  };
  const auto hardened = [](const std::vector<Window>& s) {
    std::vector<std::vector<int64_t>> b;
    for (const auto& w : s) b.push_back(w.hardened);
    return b;
  };
  const auto s21 = window_schedule(4, 2, 1);
  CHECK(blocks(s21) == std::vector<std::vector<int64_t>>{{0, 1}, {1, 2}, {2, 3}});
  CHECK(hardened(s21) == std::vector<std::vector<int64_t>>{{0}, {1}, {2, 3}});
  CHECK(blocks(window_schedule(3, 1, 0)) == std::vector<std::vector<int64_t>>{{0}, {1}, {2}});
  const auto s31 = window_schedule(4, 3, 1);
  CHECK(blocks(s31) == std::vector<std::vector<int64_t>>{{0, 1, 2}, {2, 3}});
  CHECK(hardened(s31) == std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}});
  CHECK(blocks(window_schedule(5, 2, 0)) == std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}});
  CHECK_THROWS_AS(window_schedule(4, 2, 2), ptq::InputError);
}
