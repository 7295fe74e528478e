// AWQ (methods/awq): the scale search and the clip search against brute-force references written here
// in double precision from llm-awq's equations (auto_scale.py, auto_clip.py), with a naive per-group
// min/max quantizer (no harness/quant code); a whole block's searches, scales and clipping against the
// same references on a naive forward (no harness/model code); the equivalence transform on every
// architecture variant; the GQA skip of v_proj -> o_proj; AWQ against RTN end to end; the refusals.
#include "harness/ptq/method.h"
#include "harness/tiny/outliers.h"
#include "harness/util/errors.h"
#include "methods/awq/awq_block.h"
#include "methods/awq/awq_search.h"
#include "methods/register_all.h"
#include "tests/support/apply_method.h"
#include "tests/support/naive_tensor_block.h"
#include "tests/support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

using Catch::Matchers::Contains;

using ptq::test::naive_context;
using ptq::test::naive_rms;

namespace {

using ptq::DecoderBlock;
using ptq::LlamaConfig;
namespace awq = ptq::methods::awq;

ptq::quant::QuantizerSpec wspec(int bits, int64_t group, bool sym = false) {
  return {bits, sym, group, ptq::quant::RangeRule::kMinMax};
}

// The min/max quantizer (OmniQuant's formulas), one (row, group) at a time in double: asymmetric, scale
// clamped to [1e-5, 1e4] and zero point round(-min / scale) within +-1e4; symmetric (`sym`), scale
// max(|min|, |max|) / (2^(N-1) - 1) clamped alike and zero point 2^(N-1) - 1.
at::Tensor naive_quant(const at::Tensor& w_in, int bits, int64_t group, bool sym = false) {
  const at::Tensor w = w_in.to(at::kDouble).contiguous();
  at::Tensor q = at::empty_like(w);
  const int64_t rows = w.size(0), cols = w.size(1), g = group > 0 ? group : cols;
  const double qmax = std::pow(2.0, bits) - 1;
  const auto a = w.accessor<double, 2>();
  auto o = q.accessor<double, 2>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j0 = 0; j0 < cols; j0 += g) {
      double mn = a[r][j0], mx = a[r][j0];
      for (int64_t j = j0; j < j0 + g; ++j) mn = std::min(mn, a[r][j]), mx = std::max(mx, a[r][j]);
      const double half = std::pow(2.0, bits - 1) - 1;
      const double scale = std::clamp(sym ? std::max(std::abs(mn), std::abs(mx)) / half : (mx - mn) / qmax, 1e-5, 1e4);
      const double zero = sym ? half : std::nearbyint(std::clamp(-mn / scale, -1e4, 1e4));
      for (int64_t j = j0; j < j0 + g; ++j)
        o[r][j] = (std::clamp(std::nearbyint(a[r][j] / scale) + zero, 0.0, qmax) - zero) * scale;
    }
  return q;
}

struct RefScale {
  int best = -1;
  at::Tensor s;  // double [in]
  std::vector<double> losses;
};

// llm-awq's _search_module_scale, brute force in double: `module(trial weights)` -> the inspected
// module's output, compared with `org`.
RefScale ref_scale_search(const at::Tensor& x_in, const std::vector<at::Tensor>& ws, int bits, int64_t group, int n_grid,
                          const std::function<at::Tensor(const std::vector<at::Tensor>&)>& module, const at::Tensor& org,
                          bool sym = false) {
  const at::Tensor xm = x_in.to(at::kDouble).abs().reshape({-1, x_in.size(-1)}).mean(0);
  RefScale r;
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < n_grid; ++i) {
    at::Tensor s = xm.pow(static_cast<double>(i) / n_grid).clamp_min(1e-4);
    s = s / (s.max() * s.min()).sqrt();
    std::vector<at::Tensor> trial;
    for (const at::Tensor& w : ws) trial.push_back(naive_quant(w.to(at::kDouble) * s, bits, group, sym) / s);
    const double loss = (org - module(trial)).pow(2).mean().item<double>();
    r.losses.push_back(loss);
    if (loss < best) best = loss, r.best = i, r.s = s;
  }
  return r;
}

at::Tensor org_max_of(const at::Tensor& w, int64_t group) {
  return w.abs().view({w.size(0), -1, group > 0 ? group : w.size(1)}).amax(-1);
}

struct RefClip {
  at::Tensor max_val, ratio;  // [out, groups] double
};

// llm-awq's auto_clip_layer, one (row, group) at a time in double: x [N, in] (already scaled).
RefClip ref_clip(const at::Tensor& w_in, const at::Tensor& x_in, int bits, int64_t group, int n_grid, double max_shrink,
                 int64_t n_sample, bool sym = false) {
  const at::Tensor w = w_in.to(at::kDouble);
  const int64_t n = x_in.size(0), step = std::max<int64_t>(1, n / n_sample);
  std::vector<int64_t> rows;
  for (int64_t t = 0; t < n; t += step) rows.push_back(t);
  const at::Tensor x = x_in.to(at::kDouble).index_select(0, at::tensor(rows, at::kLong));
  const int64_t out = w.size(0), cols = w.size(1), g = group > 0 ? group : cols, groups = cols / g;
  RefClip r{at::zeros({out, groups}, at::kDouble), at::zeros({out, groups}, at::kDouble)};
  for (int64_t o = 0; o < out; ++o)
    for (int64_t j = 0; j < groups; ++j) {
      const at::Tensor wg = w[o].narrow(0, j * g, g), xg = x.narrow(1, j * g, g);
      const double org_max = wg.abs().max().item<double>();
      const at::Tensor org_out = at::matmul(xg, wg);
      double best = std::numeric_limits<double>::infinity();
      for (int i = 0; i < static_cast<int>(max_shrink * n_grid); ++i) {
        const double mv = org_max * (1 - static_cast<double>(i) / n_grid);
        const at::Tensor q = naive_quant(wg.clamp(-mv, mv).unsqueeze(0), bits, 0, sym).squeeze(0);
        const double err = (at::matmul(xg, q) - org_out).pow(2).mean().item<double>();
        if (err < best) best = err, r.max_val[o][j] = mv, r.ratio[o][j] = 1 - static_cast<double>(i) / n_grid;
      }
    }
  return r;
}

// --- a naive Llama block forward in double (rotate-half RoPE, causal MHA/GQA attention, SiLU MLP) ---

at::Tensor lin(const at::Tensor& x, const at::Tensor& w) { return at::matmul(x, w.to(at::kDouble).t()); }

struct RefBlock {
  int qkv = -1, v_o = -1, gate_up = -1, down = -1;  // chosen grid indices
  at::Tensor ln1, ln2;                               // scaled norms
  std::vector<at::Tensor> w;                         // q, k, v, o, gate, up, down: scaled and clipped
  double clip_ratio_mean = 1;
};

// AWQ on one Llama block (no biases), from the equations: x [n, T, hidden].
RefBlock ref_awq_block(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x_in, int bits, int64_t group,
                       bool clip, bool sym) {
  const at::Tensor x = x_in.to(at::kDouble);
  const int64_t n = x.size(0);
  const at::Tensor n1 = naive_rms(x, b.input_layernorm, c.rms_norm_eps);
  const auto ctx_of = [&](const at::Tensor& wq, const at::Tensor& wk, const at::Tensor& wv) {
    std::vector<at::Tensor> seqs;
    for (int64_t s = 0; s < n; ++s) seqs.push_back(naive_context(c, n1[s], wq, wk, wv));
    return at::stack(seqs);
  };
  const at::Tensor ctx = ctx_of(b.q_proj.weight, b.k_proj.weight, b.v_proj.weight);
  const at::Tensor attn = lin(ctx, b.o_proj.weight);
  const at::Tensor n2 = naive_rms(x + attn, b.post_attention_layernorm, c.rms_norm_eps);
  const auto mlp_of = [&](const at::Tensor& wg, const at::Tensor& wu, const at::Tensor& wd) {
    return lin(at::silu(lin(n2, wg)) * lin(n2, wu), wd);
  };
  const at::Tensor d = at::silu(lin(n2, b.gate_proj.weight)) * lin(n2, b.up_proj.weight);
  const at::Tensor mlp = lin(d, b.down_proj.weight);

  RefBlock r;
  const RefScale s_qkv = ref_scale_search(
      n1, {b.q_proj.weight, b.k_proj.weight, b.v_proj.weight}, bits, group, 20,
      [&](const std::vector<at::Tensor>& t) { return lin(ctx_of(t[0], t[1], t[2]), b.o_proj.weight); }, attn, sym);
  const RefScale s_vo = ref_scale_search(
      ctx, {b.o_proj.weight}, bits, group, 20, [&](const std::vector<at::Tensor>& t) { return lin(ctx, t[0]); }, attn, sym);
  const RefScale s_gu = ref_scale_search(
      n2, {b.gate_proj.weight, b.up_proj.weight}, bits, group, 20,
      [&](const std::vector<at::Tensor>& t) { return mlp_of(t[0], t[1], b.down_proj.weight); }, mlp, sym);
  const RefScale s_d = ref_scale_search(
      d, {b.down_proj.weight}, bits, group, 20, [&](const std::vector<at::Tensor>& t) { return lin(d, t[0]); }, mlp, sym);
  r.qkv = s_qkv.best, r.v_o = s_vo.best, r.gate_up = s_gu.best, r.down = s_d.best;

  const auto cols = [](const at::Tensor& w, const at::Tensor& s) { return w.to(at::kDouble) * s; };
  r.ln1 = b.input_layernorm.to(at::kDouble) / s_qkv.s;
  r.ln2 = b.post_attention_layernorm.to(at::kDouble) / s_gu.s;
  at::Tensor wq = cols(b.q_proj.weight, s_qkv.s), wk = cols(b.k_proj.weight, s_qkv.s);
  at::Tensor wv = cols(b.v_proj.weight, s_qkv.s) / s_vo.s.unsqueeze(1);
  at::Tensor wo = cols(b.o_proj.weight, s_vo.s);
  at::Tensor wg = cols(b.gate_proj.weight, s_gu.s);
  at::Tensor wu = cols(b.up_proj.weight, s_gu.s) / s_d.s.unsqueeze(1);
  at::Tensor wd = cols(b.down_proj.weight, s_d.s);
  if (clip) {
    double sum = 0;
    int64_t count = 0;
    const auto clip_w = [&](at::Tensor& w, const at::Tensor& xin) {
      const RefClip rc = ref_clip(w, xin.reshape({-1, xin.size(-1)}), bits, group, 20, 0.5, 512, sym);
      const int64_t groups = rc.max_val.size(1);
      const at::Tensor mv = rc.max_val.unsqueeze(-1);
      w = at::max(at::min(w.view({w.size(0), groups, -1}), mv), -mv).view(w.sizes());
      sum += rc.ratio.sum().item<double>();
      count += rc.ratio.numel();
    };
    clip_w(wv, n1 / s_qkv.s);
    clip_w(wo, ctx / s_vo.s);
    clip_w(wg, n2 / s_gu.s);
    clip_w(wu, n2 / s_gu.s);
    clip_w(wd, d / s_d.s);
    r.clip_ratio_mean = sum / static_cast<double>(count);
  }
  r.w = {wq, wk, wv, wo, wg, wu, wd};
  return r;
}

LlamaConfig mha_config(int64_t layers = 1) {
  ptq::test::TinyShape s;
  s.kv_heads = s.heads;
  s.layers = layers;
  return ptq::test::tiny_config(s);
}

// Block output MSE of a quantized model against the FP one (the hidden state after the last block).
double hidden_mse(const ptq::LlamaModel& q, const ptq::LlamaModel& fp, const at::Tensor& ids) {
  return at::mse_loss(ptq::test::last_hidden(q, ids), ptq::test::last_hidden(fp, ids)).item<double>();
}

ptq::LlamaModel quantized(const ptq::LlamaModel& fp, const std::string& method, const std::string& setting,
                          const nlohmann::json& config, const at::Tensor& calib, ptq::quant::MethodReport* report = nullptr) {
  ptq::LlamaModel m = ptq::test::copy_model(fp);
  const auto r = ptq::test::apply_method(m, method, setting, config, calib);
  if (report != nullptr) *report = r;
  return m;
}

}  // namespace

TEST_CASE("AWQ's scale search picks the ratio and weights of a brute-force double reference", "[unit][awq]") {
  at::manual_seed(11);
  const int64_t in = 32;
  // Channels of very different magnitudes (activation outliers), two linears reading them.
  const at::Tensor x = at::randn({48, in}) * at::exp(1.5 * at::randn({in}));
  const at::Tensor w1 = at::randn({12, in}) * 0.1, w2 = at::randn({8, in}) * 0.1;
  const at::Tensor org = at::cat({at::matmul(x, w1.t()), at::matmul(x, w2.t())}, 1);
  for (const int64_t group : {int64_t{0}, int64_t{8}}) {
    INFO("group " << group);
    const awq::ScaleSearch got = awq::search_scale(
        awq::act_mean(x), {w1, w2}, wspec(3, group), 20,
        [&](const std::vector<at::Tensor>& t) {
          const at::Tensor out = at::cat({at::matmul(x, t[0].t()), at::matmul(x, t[1].t())}, 1);
          return (org - out).pow(2).mean().item<double>();
        },
        "test");
    const at::Tensor xd = x.to(at::kDouble);
    const RefScale want = ref_scale_search(
        x, {w1, w2}, 3, group, 20,
        [&](const std::vector<at::Tensor>& t) { return at::cat({at::matmul(xd, t[0].t()), at::matmul(xd, t[1].t())}, 1); },
        org.to(at::kDouble));
    REQUIRE(got.losses.size() == 20);
    for (size_t i = 0; i < 20; ++i) CHECK(got.losses[i] == Approx(want.losses[i]).epsilon(1e-4));
    CHECK(got.ratio == static_cast<double>(want.best) / 20);
    CHECK(want.best > 0);  // the outlier channels make a scaled search win over plain RTN (ratio 0)
    CHECK(at::allclose(got.scales.to(at::kDouble), want.s, 1e-5, 1e-6));
    CHECK(at::allclose(awq::scaled_fake_quant(w1, got.scales, wspec(3, group)).to(at::kDouble),
                       naive_quant(w1.to(at::kDouble) * want.s, 3, group) / want.s, 1e-4, 1e-6));
  }
  // Ratio 0 is s = 1: the plain quantizer; a zero-statistic channel gets the 1e-4 floor before normalising.
  CHECK(at::equal(awq::candidate_scales(at::rand({5}), 0.0), at::ones({5})));
  const at::Tensor s = awq::candidate_scales(at::tensor({0.0f, 1.0f, 4.0f}), 0.5);
  CHECK(at::allclose(s, at::tensor({1e-4f, 1.0f, 2.0f}) / std::sqrt(2e-4), 1e-5));
  // No finite loss: an error naming what was searched.
  CHECK_THROWS_WITH(awq::search_scale(awq::act_mean(x), {w1}, wspec(3, 0), 4,
                                      [](const std::vector<at::Tensor>&) { return std::nan(""); }, "block 7, scaling group down"),
                    Contains("block 7, scaling group down") && Contains("no scale ratio gives a finite loss"));
}

TEST_CASE("AWQ's clip search equals a naive per-(row, group) loop in double", "[unit][awq]") {
  at::manual_seed(12);
  at::Tensor w = at::randn({40, 32}) * 0.1;
  w.index_put_({3, 5}, 0.9);  // a large weight: clipping it pays off
  const at::Tensor x = at::randn({1100, 32}) * at::exp(at::randn({32}));
  for (const int64_t group : {int64_t{0}, int64_t{8}})
    for (const int64_t n_sample : {int64_t{512}, int64_t{2000}}) {  // step 2 (550 rows); N < 2000: step 1, not 0
      INFO("group " << group << ", n_sample_token " << n_sample);
      const RefClip want = ref_clip(w, x, 3, group, 20, 0.5, n_sample);
      // In double, the same arithmetic: the same choice everywhere.
      const awq::ClipSearch exact =
          awq::search_clip(w.to(at::kDouble), x.to(at::kDouble), wspec(3, group), 20, 0.5, n_sample, /*row_batch=*/4);
      CHECK(at::equal(exact.ratio, want.ratio));
      CHECK(at::allclose(exact.max_val, want.max_val, 1e-12, 0));
      CHECK(want.ratio.min().item<double>() < 1);  // something was clipped
      // In float (as models run): where both ends of a group are clipped, -min / scale is 3.5 up to
      // rounding error and the zero point's rounding may go either way - as in the reference's fp16.
      const awq::ClipSearch got = awq::search_clip(w, x, wspec(3, group), 20, 0.5, n_sample, /*row_batch=*/4);
      const double agree = ((got.ratio.to(at::kDouble) - want.ratio).abs() < 1e-6).to(at::kDouble).mean().item<double>();
      CHECK(agree >= 0.8);
      CHECK(at::allclose(got.max_val, org_max_of(w, group) * got.ratio, 1e-6, 0));
      const at::Tensor clipped = awq::apply_clip(w, got.max_val);
      CHECK(at::allclose(clipped.abs().view({40, -1, group > 0 ? group : 32}).amax(-1), got.max_val));
      CHECK(at::equal(clipped, at::max(at::min(w.view({40, -1, group > 0 ? group : 32}), got.max_val.unsqueeze(-1)),
                                       -got.max_val.unsqueeze(-1)).view({40, 32})));
    }
  CHECK(awq::sample_tokens(at::zeros({100, 4}), 512).size(0) == 100);
  CHECK(awq::sample_tokens(at::zeros({1100, 4}), 512).size(0) == 550);
}

TEST_CASE("AWQ on a block: searches, scales and clipping equal the reference on a naive forward", "[unit][awq]") {
  const LlamaConfig c = mha_config();
  ptq::LlamaModel fp = ptq::test::random_model(c, 31);
  ptq::tiny::OutlierSpec outliers;
  ptq::tiny::inject_outliers(fp, outliers);
  at::manual_seed(13);
  const at::Tensor x = at::randn({2, 16, c.hidden_size});
  const auto rope_tables = fp.rope(16);
  const DecoderBlock b = fp.block(0);
  // Clipping with the symmetric quantizer: no zero point to round, so float and double choose alike
  // (the asymmetric clip search is compared in double above).
  for (const bool clip : {false, true}) {
    INFO("auto_clip " << clip);
    awq::BlockOptions o;
    o.auto_clip = clip;
    const bool sym = clip;
    const awq::BlockResult got = awq::awq_block(b, c, x, rope_tables, 1, wspec(3, 32, sym), o, "block 0");
    const RefBlock want = ref_awq_block(b, c, x, 3, 32, clip, sym);
    CHECK(got.ratio_qkv == want.qkv / 20.0);
    CHECK(got.ratio_v_o == want.v_o / 20.0);
    CHECK(got.ratio_gate_up == want.gate_up / 20.0);
    CHECK(got.ratio_down == want.down / 20.0);
    CHECK(want.qkv + want.v_o + want.gate_up + want.down > 0);  // some group scaled
    CHECK(at::allclose(got.block.input_layernorm.to(at::kDouble), want.ln1, 1e-5, 1e-6));
    CHECK(at::allclose(got.block.post_attention_layernorm.to(at::kDouble), want.ln2, 1e-5, 1e-6));
    auto& gb = const_cast<DecoderBlock&>(got.block);
    const auto ls = gb.linears();
    for (size_t k = 0; k < ls.size(); ++k) {
      INFO(DecoderBlock::kLinearNames[k]);
      CHECK(at::allclose(ls[k]->weight.to(at::kDouble), want.w[k], 1e-5, 1e-6));
    }
    CHECK(got.clip_ratio_mean == Approx(want.clip_ratio_mean).epsilon(1e-9));
    if (clip) CHECK(got.clip_ratio_mean < 1);
  }
}

TEST_CASE("AWQ's scaling keeps the FP block's function on every variant, and v_proj -> o_proj is searched only without GQA",
          "[unit][awq]") {
  struct Variant {
    const char* name;
    int64_t kv_heads;
    bool biases, qk_norm;
  };
  for (const Variant v : {Variant{"llama MHA", 4, false, false}, Variant{"llama GQA", 2, false, false},
                          Variant{"qwen2-style MHA, every bias and norm biases", 4, true, false},
                          Variant{"qwen2-style GQA, biases", 2, true, false}, Variant{"qwen3 q/k norms MHA", 4, false, true}}) {
    INFO(v.name);
    ptq::test::TinyShape shape;
    shape.kv_heads = v.kv_heads;
    shape.layers = 1;
    LlamaConfig c = ptq::test::tiny_config(shape);
    if (v.biases) c.model_type = "qwen2", c.attention_bias = true, c.mlp_bias = true;
    if (v.qk_norm) c.model_type = "qwen3", c.qk_norm = true;
    const ptq::LlamaModel m = ptq::test::random_model(c, 41);
    DecoderBlock b = m.block(0);
    at::manual_seed(14);
    if (v.biases) {
      b.input_layernorm_bias = 0.1 * at::randn({c.hidden_size});
      b.post_attention_layernorm_bias = 0.1 * at::randn({c.hidden_size});
    }
    CHECK(awq::searches_v_o(b) == (v.kv_heads == 4));
    awq::GroupScales s;
    const auto rs = [](int64_t n) { return at::exp(at::randn({n})); };
    s.qkv = rs(c.hidden_size);
    if (awq::searches_v_o(b)) s.v_o = rs(c.q_dim());
    s.gate_up = rs(c.hidden_size);
    s.down = rs(c.intermediate_size);
    const DecoderBlock scaled = awq::apply_scales(b, s);
    const at::Tensor x = at::randn({2, 12, c.hidden_size});
    const auto rope_tables = m.rope(12);
    const at::Tensor want = ptq::decoder_block_forward(b, c, x, rope_tables);
    CHECK(at::allclose(ptq::decoder_block_forward(scaled, c, x, rope_tables), want, 1e-4, 1e-5));
    CHECK_FALSE(at::equal(scaled.up_proj.weight, b.up_proj.weight));
    if (v.biases) {
      CHECK(at::allclose(scaled.input_layernorm_bias, b.input_layernorm_bias / s.qkv));
      CHECK(at::allclose(scaled.up_proj.bias, b.up_proj.bias / s.down));
    }
    // The search's block (no clipping, no quantization yet) keeps the function too.
    awq::BlockOptions o;
    o.auto_clip = false;
    const awq::BlockResult r = awq::awq_block(b, c, x, rope_tables, 1, wspec(3, 0), o, "block 0");
    CHECK((r.ratio_v_o >= 0) == (v.kv_heads == 4));
    CHECK(r.scales.v_o.defined() == (v.kv_heads == 4));
    CHECK(at::allclose(ptq::decoder_block_forward(r.block, c, x, rope_tables), want, 1e-4, 1e-5));
  }
}

TEST_CASE("AWQ beats RTN end to end (activation outliers, W3A16 and W4A16g32) with its report and qparams",
          "[unit][awq]") {
  const LlamaConfig c = ptq::test::tiny_config();  // GQA: v_proj -> o_proj skipped
  ptq::LlamaModel fp = ptq::test::random_model(c, 61);
  ptq::tiny::OutlierSpec outliers;
  ptq::tiny::inject_outliers(fp, outliers);
  at::manual_seed(15);
  const at::Tensor calib = ptq::test::calibration_ids(4, 32, c.vocab_size);
  const at::Tensor held_out = ptq::test::calibration_ids(4, 32, c.vocab_size);
  for (const char* setting : {"W3A16", "W4A16g32"}) {
    INFO(setting);
    ptq::quant::MethodReport report;
    const ptq::LlamaModel q = quantized(fp, "awq", setting, nlohmann::json::object(), calib, &report);
    const ptq::LlamaModel rtn = quantized(fp, "rtn", setting, nlohmann::json::object(), calib);
    const double e_awq = hidden_mse(q, fp, held_out), e_rtn = hidden_mse(rtn, fp, held_out);
    INFO("held-out hidden-state MSE: AWQ " << e_awq << ", RTN " << e_rtn);
    CHECK(e_awq < 0.7 * e_rtn);
    REQUIRE(report.qparams.size() == 2 * 7 * fp.num_blocks());
    CHECK(report.qparams[0].first == "model.layers.0.self_attn.q_proj.weight_scale");
    const auto& blocks = report.summary.at("blocks");
    REQUIRE(blocks.size() == fp.num_blocks());
    CHECK(blocks[1].at("block") == 1);
    CHECK(blocks[0].at("scale_ratios").at("v_o").is_null());  // GQA
    CHECK(blocks[0].at("scale_ratios").at("qkv").get<double>() >= 0);
    CHECK(blocks[0].at("clip_ratio_mean").get<double>() <= 1);
    CHECK(report.summary.at("inputs") == "fp");
    // Every weight on its grid: w = (n - zero) * scale with an integer n in [0, 2^N - 1].
    const int64_t group = std::string(setting) == "W3A16" ? c.hidden_size : 32;
    const at::Tensor w = q.block(1).gate_proj.weight.reshape({-1, group});
    const at::Tensor scale = report.qparams[2 * 7 + 8].second.reshape({-1, 1}), zero = report.qparams[2 * 7 + 9].second.reshape({-1, 1});
    CHECK(report.qparams[2 * 7 + 8].first == "model.layers.1.mlp.gate_proj.weight_scale");
    const at::Tensor n = w / scale + zero;
    CHECK(at::allclose(n, n.round(), 0, 1e-3));
  }
  // Ablations: no scaling and no clipping is RTN exactly; "quantized" inputs change block 1 only.
  const ptq::LlamaModel plain = quantized(fp, "awq", "W3A16", {{"auto_scale", false}, {"auto_clip", false}}, calib);
  const ptq::LlamaModel rtn = quantized(fp, "rtn", "W3A16", nlohmann::json::object(), calib);
  for (size_t i = 0; i < fp.num_blocks(); ++i) CHECK(at::equal(plain.block(i).down_proj.weight, rtn.block(i).down_proj.weight));
  const ptq::LlamaModel on_fp = quantized(fp, "awq", "W3A16", nlohmann::json::object(), calib);
  const ptq::LlamaModel on_q = quantized(fp, "awq", "W3A16", {{"inputs", "quantized"}}, calib);
  CHECK(at::equal(on_fp.block(0).v_proj.weight, on_q.block(0).v_proj.weight));
  CHECK_FALSE(at::equal(on_fp.block(1).v_proj.weight, on_q.block(1).v_proj.weight));
}

TEST_CASE("AWQ refuses activation quantization, 16-bit weights and bad config values", "[unit][awq]") {
  const auto& awq = ptq::methods::registry().get("awq");
  CHECK(awq.paper_name() == "AWQ");
  const nlohmann::json defaults = awq.default_config();
  CHECK(defaults == nlohmann::json{{"n_grid", 20}, {"auto_scale", true}, {"auto_clip", true}, {"max_shrink", 0.5},
                                   {"clip_grid", 20}, {"n_sample_token", 512}, {"inputs", "fp"}});
  const LlamaConfig c = ptq::test::tiny_config();
  const auto check = [&](const char* setting) { awq.check_model(c, ptq::quant::QuantSetting::parse(setting), defaults); };
  CHECK_NOTHROW(check("W4A16g32"));
  CHECK_THROWS_AS(check("W4A8"), ptq::InputError);
  CHECK_THROWS_WITH(check("W4A8"), Contains("awq") && Contains("W4A8") && Contains("weights only") && Contains("W<bits>A16"));
  CHECK_THROWS_WITH(check("W4A16KV4"), Contains("quantizes activations"));
  CHECK_THROWS_WITH(check("W16A16"), Contains("nothing to quantize"));
  // Through the pipeline too, before anything runs.
  ptq::LlamaModel m = ptq::test::random_model(c, 71);
  const at::Tensor calib = ptq::test::calibration_ids(2, 16, c.vocab_size);
  CHECK_THROWS_WITH(ptq::test::apply_method(m, "awq", "W4A4", nlohmann::json::object(), calib), Contains("W4A4"));
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"n_grid", 0}, {"clip_grid", 0}, {"max_shrink", 1.0}, {"max_shrink", -0.1}, {"n_sample_token", 0}, {"inputs", "int8"}}) {
    INFO(key << " = " << value.dump());
    CHECK_THROWS_WITH(awq.resolve_config({{key, value}}), Contains("awq") && Contains("\"" + key + "\""));
  }
  CHECK(awq.resolve_config({{"max_shrink", 0.0}}).at("max_shrink") == 0.0);  // 0: no candidate, no clipping
}
