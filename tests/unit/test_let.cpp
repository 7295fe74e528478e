// OmniQuant's LET: the transform is an identity in FP (with and without GQA, with shifts, with the
// q/k scale tied on RoPE pairs), the reference's free pre-RoPE q/k scale is not, training steps and
// folding agree, the SmoothQuant initialisation against naive per-channel loops, and LET training
// recovering a planted channel scaling under W-A quantization.
#include "harness/model/llama_model.h"
#include "harness/ptq/config_schema.h"
#include "harness/ptq/quant_setting.h"
#include "harness/recon/block_recon.h"
#include "methods/omniquant/let.h"
#include "methods/omniquant/omni_parts.h"
#include "tests/support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

using ptq::methods::LetParams;

namespace {

at::Tensor uniform(std::vector<int64_t> shape, double lo, double hi) { return at::rand(shape) * (hi - lo) + lo; }

// Random LET parameters; the q/k scale tied on RoPE pairs unless `free_qk`.
LetParams random_let(const ptq::LlamaConfig& c, bool shifts, bool free_qk) {
  LetParams p;
  p.qkv_scale = uniform({c.hidden_size}, 0.3, 3.0);
  p.out_scale = uniform({c.kv_dim()}, 0.3, 3.0);
  p.fc1_scale = uniform({c.hidden_size}, 0.3, 3.0);
  const at::Tensor half = uniform({c.num_key_value_heads, c.head_dim / 2}, 0.3, 3.0);
  p.qkt_scale = free_qk ? uniform({c.kv_dim()}, 0.3, 3.0) : at::cat({half, half}, 1).reshape({-1});
  if (shifts) {
    p.qkv_shift = at::randn({c.hidden_size}) * 0.2;
    p.out_shift = at::randn({c.kv_dim()}) * 0.2;
    p.fc1_shift = at::randn({c.hidden_size}) * 0.2;
  }
  return p;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

ptq::test::TinyShape shape_with_kv(int64_t kv) {
  ptq::test::TinyShape s;
  s.kv_heads = kv;
  return s;
}

}  // namespace

TEST_CASE("LET folded into a block leaves its FP output unchanged (MHA and GQA, with shifts)", "[unit][let]") {
  for (const int64_t kv : {4, 2, 1}) {
    for (const bool shifts : {false, true}) {
      INFO("kv heads " << kv << ", shifts " << shifts);
      at::manual_seed(20 + kv);
      const auto c = ptq::test::tiny_config(shape_with_kv(kv));
      const auto m = ptq::test::random_model(c, 31);
      const auto& block = m.block(0);
      const at::Tensor x = at::randn({2, 24, c.hidden_size});
      const auto rope = m.rope(24);
      const at::Tensor ref = ptq::decoder_block_forward(block, c, x, rope);
      const ptq::DecoderBlock folded = ptq::methods::let_transform(block, c, random_let(c, shifts, false));
      CHECK(folded.input_layernorm_bias.defined() == shifts);
      CHECK(folded.o_proj.bias.defined() == shifts);
      CHECK_FALSE(folded.down_proj.bias.defined());  // down_proj is never transformed
      CHECK(at::equal(folded.down_proj.weight, block.down_proj.weight));
      CHECK(max_abs_diff(ptq::decoder_block_forward(folded, c, x, rope), ref) < 1e-5);
    }
  }
}

TEST_CASE("the reference's free q/k scale before RoPE is not an identity, tied on RoPE pairs it is", "[unit][let]") {
  at::manual_seed(4);
  const auto c = ptq::test::tiny_config();
  const auto m = ptq::test::random_model(c, 32);
  const at::Tensor x = at::randn({1, 32, c.hidden_size});
  const auto rope = m.rope(32);
  const at::Tensor ref = ptq::decoder_block_forward(m.block(1), c, x, rope);
  LetParams p = random_let(c, false, /*free_qk=*/true);
  const double free = max_abs_diff(ptq::decoder_block_forward(ptq::methods::let_transform(m.block(1), c, p), c, x, rope), ref);
  p.qkt_scale = at::ones_like(p.qkt_scale);
  const double unit = max_abs_diff(ptq::decoder_block_forward(ptq::methods::let_transform(m.block(1), c, p), c, x, rope), ref);
  INFO("free q/k scale: " << free << ", unit q/k scale: " << unit);
  CHECK(free > 1e-3);
  CHECK(unit < 1e-5);
}

TEST_CASE("GQA: the shared v->o and q/k scales act on every query head of their K/V head", "[unit][let]") {
  const auto c = ptq::test::tiny_config(shape_with_kv(2));  // 4 query heads, 2 K/V heads, head_dim 16
  const at::Tensor s = at::arange(c.kv_dim(), at::kFloat);
  const at::Tensor r = ptq::methods::repeat_over_query_heads(s, c);
  REQUIRE(r.size(0) == c.q_dim());
  for (int64_t h = 0; h < c.num_attention_heads; ++h)
    for (int64_t d = 0; d < c.head_dim; ++d)
      CHECK(r[h * c.head_dim + d].item<float>() == static_cast<float>((h / 2) * c.head_dim + d));
}

TEST_CASE("SmoothQuant initialisation against naive per-channel loops", "[unit][let]") {
  at::manual_seed(6);
  const auto c = ptq::test::tiny_config(shape_with_kv(2));
  const auto m = ptq::test::random_model(c, 33);
  const auto& b = m.block(0);
  const at::Tensor x = at::randn({3, 10, c.hidden_size}) * 2;
  const auto act = ptq::methods::linear_input_absmax(b, c, x, m.rope(10), /*batch=*/2);
  // q_proj's input: RMSNorm(x) * gain, max |.| over all 30 tokens, in double.
  const at::Tensor xd = x.to(at::kDouble);
  for (int64_t ch = 0; ch < c.hidden_size; ch += 7) {
    double mx = 0;
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t t = 0; t < 10; ++t) {
        double ss = 0;
        for (int64_t k = 0; k < c.hidden_size; ++k) ss += std::pow(xd[i][t][k].item<double>(), 2);
        const double rms = std::sqrt(ss / static_cast<double>(c.hidden_size) + c.rms_norm_eps);
        mx = std::max(mx, std::abs(xd[i][t][ch].item<double>() / rms * b.input_layernorm[ch].item<double>()));
      }
    CHECK(act.qkv[ch].item<double>() == Approx(mx).epsilon(1e-5));
  }
  for (const bool signed_max : {false, true}) {
    const LetParams p = ptq::methods::smoothquant_init(b, c, act, 0.75, signed_max, true, true);
    for (int64_t ch = 0; ch < c.hidden_size; ch += 5) {
      double w = -1e30;
      for (int64_t r = 0; r < c.q_dim(); ++r) {
        const double v = b.q_proj.weight[r][ch].item<double>();
        w = std::max(w, signed_max ? v : std::abs(v));
      }
      const double a = std::max(act.qkv[ch].item<double>(), 1e-5);
      const double expect = std::max(std::pow(a, 0.75) / std::pow(std::max(w, 1e-5), 0.25), 1e-5);
      CHECK(p.qkv_scale[ch].item<double>() == Approx(expect).epsilon(1e-5));
    }
    // v->o with GQA: K/V channel (j, d) takes the max over query heads 2j, 2j+1 of act and |W_o| columns.
    for (int64_t kvc = 0; kvc < c.kv_dim(); kvc += 3) {
      const int64_t j = kvc / c.head_dim, d = kvc % c.head_dim;
      double a = 0, w = -1e30;
      for (int64_t h = 2 * j; h < 2 * j + 2; ++h) {
        const int64_t col = h * c.head_dim + d;
        a = std::max(a, act.out[col].item<double>());
        for (int64_t r = 0; r < c.hidden_size; ++r) {
          const double v = b.o_proj.weight[r][col].item<double>();
          w = std::max(w, signed_max ? v : std::abs(v));
        }
      }
      const double expect = std::max(std::pow(std::max(a, 1e-5), 0.75) / std::pow(std::max(w, 1e-5), 0.25), 1e-5);
      CHECK(p.out_scale[kvc].item<double>() == Approx(expect).epsilon(1e-5));
    }
    CHECK(at::equal(p.qkt_scale, at::ones({c.kv_dim()})));
    CHECK(at::equal(p.qkv_shift, at::zeros({c.hidden_size})));
  }
}

TEST_CASE("a training step's temporary block and the folded block compute the same thing", "[unit][let]") {
  at::manual_seed(8);
  const auto c = ptq::test::tiny_config();
  const auto m = ptq::test::random_model(c, 34);
  const auto setting = ptq::quant::QuantSetting::parse("W4A4");
  const ptq::ActivationHookPtr aq = ptq::quant::activation_quantizer(setting.activation_quant());
  const at::Tensor x = at::randn({2, 16, c.hidden_size});
  const auto rope = m.rope(16);
  for (const auto qk : {ptq::methods::QkScale::kReleased, ptq::methods::QkScale::kRopePaired}) {
    INFO(ptq::quant::name_in(ptq::methods::qk_scale_names(), qk));
    ptq::methods::LetOptions lo;
    lo.enabled = true;
    lo.shift = lo.train_shift = true;
    lo.qk_scale = qk;
    auto parts = ptq::methods::make_omni_parts(ptq::recon::BlockInputs{m.block(0), 0, c, x, x, rope, 1}, setting.weight_spec(), {}, lo);
    // Move every parameter away from its initial value with a few steps on a made-up target.
    ptq::train::AdamW opt(parts->param_groups());
    for (int step = 0; step < 3; ++step) {
      parts->before_step();
      at::Tensor loss = ptq::decoder_block_forward(parts->temporary_block(m.block(0)), c, x, rope, aq.get()).pow(2).mean();
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
    at::Tensor temp;
    {
      at::NoGradGuard g;
      parts->before_step();
      temp = ptq::decoder_block_forward(parts->temporary_block(m.block(0)), c, x, rope, aq.get());
    }
    ptq::DecoderBlock folded = m.block(0);
    std::vector<std::pair<std::string, at::Tensor>> qparams;
    parts->fold(folded, "model.layers.0.", qparams);
    CHECK(qparams.size() == 14);
    CHECK(folded.input_layernorm_bias.defined());  // trained shifts are non-zero
    CHECK(max_abs_diff(ptq::decoder_block_forward(folded, c, x, rope, aq.get()), temp) < 1e-5);
  }
}

TEST_CASE("LET scales are truncated to |s| >= 1e-2 before each step, keeping their sign", "[unit][let]") {
  const auto c = ptq::test::tiny_config();
  const auto m = ptq::test::random_model(c, 35);
  const at::Tensor x = at::randn({1, 8, c.hidden_size});
  ptq::methods::LetOptions lo;
  lo.enabled = true;
  auto parts = ptq::methods::make_omni_parts(ptq::recon::BlockInputs{m.block(0), 0, c, x, x, m.rope(8), 1},
                                           ptq::quant::QuantSetting::parse("W4A4").weight_spec(), {}, lo);
  std::map<std::string, at::Tensor> state;
  for (const auto& [name, t] : parts->state()) state[name] = t.clone();
  at::Tensor s = state.at("let.qkv_scale");
  s[0] = 1e-3;
  s[1] = -5e-3;
  s[2] = 0.0;
  s[3] = -0.5;
  parts->load_state(state);
  parts->before_step();
  std::map<std::string, at::Tensor> after;
  for (const auto& [name, t] : parts->state()) after[name] = t;
  const at::Tensor got = after.at("let.qkv_scale");
  CHECK(got[0].item<float>() == Approx(1e-2));
  CHECK(got[1].item<float>() == Approx(-1e-2));
  CHECK(got[2].item<float>() == 0.0f);
  CHECK(got[3].item<float>() == Approx(-0.5));
}
