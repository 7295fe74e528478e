// The reconstruction engine's contract for methods that calibrate without an optimiser (GPTQ, AWQ):
// methods/testing/lsq_rtn runs on the engine with epochs 0, captures each linear group's inputs on the
// quantized path in sub-steps and updates the weights in closed form. Checked against a reference
// written here from the equations (double precision, no harness/model code): the block forward, the
// sub-step order, the quantized-path propagation between blocks, and the least-squares row scales.
#include "harness/pipeline/quantize.h"
#include "harness/recon/linear_inputs.h"
#include "methods/testing/lsq_rtn.h"
#include "tests/support/naive_llama.h"
#include "tests/support/naive_tensor_block.h"
#include "tests/support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>

using ptq::test::naive_context;
using ptq::test::naive_rms;

namespace {

using ptq::DecoderBlock;
using ptq::LlamaConfig;

at::Tensor context(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& n1) {
  return naive_context(c, n1, b.q_proj.weight, b.k_proj.weight, b.v_proj.weight);
}

// RTN (the naive per-row quantizer) with least-squares row factors on inputs x [tokens, in].
at::Tensor lsq_rtn(const at::Tensor& w, const at::Tensor& x, int bits) {
  at::Tensor q = at::empty_like(w);
  for (int64_t r = 0; r < w.size(0); ++r) {
    const at::Tensor row = w[r].contiguous();
    const std::vector<float> v(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    q[r].copy_(at::tensor(ptq::test::naive_fake_quant_row(v, bits)));
  }
  const at::Tensor y = at::matmul(x, w.to(at::kDouble).t()), yq = at::matmul(x, q.to(at::kDouble).t());
  const at::Tensor a = (y * yq).sum(0) / (yq * yq).sum(0);
  return (q.to(at::kDouble) * a.unsqueeze(1)).to(at::kFloat);
}

struct Expected {
  DecoderBlock block;
  at::Tensor out;  // the quantized block's output, the next block's quantized-path input
};

// One block of the method, from the equations: q/k/v, then o_proj, then gate/up, then down_proj, each on
// the inputs the previous updates produce. x: [n, T, hidden] in double.
Expected expected_block(const DecoderBlock& fp, const LlamaConfig& c, const at::Tensor& x, int bits) {
  DecoderBlock b = fp;
  const double eps = c.rms_norm_eps;
  const at::Tensor n1 = naive_rms(x, b.input_layernorm, eps);
  const at::Tensor x_qkv = n1.reshape({-1, c.hidden_size});
  for (ptq::Linear* l : {&b.q_proj, &b.k_proj, &b.v_proj}) l->weight = lsq_rtn(l->weight, x_qkv, bits);
  std::vector<at::Tensor> ctx;
  for (int64_t s = 0; s < x.size(0); ++s) ctx.push_back(context(b, c, n1[s]));
  const at::Tensor x_o = at::stack(ctx).reshape({-1, c.num_attention_heads * c.head_dim});
  b.o_proj.weight = lsq_rtn(b.o_proj.weight, x_o, bits);
  const at::Tensor h = x + at::matmul(x_o, b.o_proj.weight.to(at::kDouble).t()).view(x.sizes());
  const at::Tensor x_gu = naive_rms(h, b.post_attention_layernorm, eps).reshape({-1, c.hidden_size});
  b.gate_proj.weight = lsq_rtn(b.gate_proj.weight, x_gu, bits);
  b.up_proj.weight = lsq_rtn(b.up_proj.weight, x_gu, bits);
  const auto lin = [](const at::Tensor& in, const at::Tensor& w) { return at::matmul(in, w.to(at::kDouble).t()); };
  const at::Tensor x_d = at::silu(lin(x_gu, b.gate_proj.weight)) * lin(x_gu, b.up_proj.weight);
  b.down_proj.weight = lsq_rtn(b.down_proj.weight, x_d, bits);
  return {b, h + lin(x_d, b.down_proj.weight).view(x.sizes())};
}

// The FP block's output (no quantization), from the same equations.
at::Tensor expected_block_fp_output(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x) {
  const auto lin = [](const at::Tensor& in, const at::Tensor& w) { return at::matmul(in, w.to(at::kDouble).t()); };
  const at::Tensor n1 = naive_rms(x, b.input_layernorm, c.rms_norm_eps);
  std::vector<at::Tensor> ctx;
  for (int64_t s = 0; s < x.size(0); ++s) ctx.push_back(context(b, c, n1[s]));
  const at::Tensor h = x + lin(at::stack(ctx), b.o_proj.weight);
  const at::Tensor n2 = naive_rms(h, b.post_attention_layernorm, c.rms_norm_eps);
  return h + lin(at::silu(lin(n2, b.gate_proj.weight)) * lin(n2, b.up_proj.weight), b.down_proj.weight);
}

void check_close(const DecoderBlock& got, const DecoderBlock& want) {
  const auto g = const_cast<DecoderBlock&>(got).linears(), w = const_cast<DecoderBlock&>(want).linears();
  for (size_t k = 0; k < g.size(); ++k) {
    INFO(DecoderBlock::kLinearNames[k]);
    CHECK(at::allclose(g[k]->weight, w[k]->weight, /*rtol=*/1e-4, /*atol=*/1e-6));
  }
}

}  // namespace

TEST_CASE("a closed-form method runs on the engine unchanged: sub-steps on the quantized path, no optimiser",
          "[unit][engine]") {
  const LlamaConfig c = ptq::test::tiny_config();
  const ptq::LlamaModel fp = ptq::test::random_model(c, 91);
  at::manual_seed(5);
  const at::Tensor calib = ptq::test::calibration_ids(2, 12, c.vocab_size);
  const auto method = ptq::methods::make_lsq_rtn();
  ptq::LlamaModel m = ptq::test::copy_model(fp);
  ptq::pipeline::QuantizeRequest request;
  request.setting = ptq::quant::QuantSetting::parse("W4A16");
  request.calibration = &calib;
  request.progress = false;
  const auto q = ptq::pipeline::quantize(m, {method.get(), method->resolve_config(nlohmann::json::object()), true}, request);

  at::Tensor x = at::embedding(fp.embed_tokens, calib).to(at::kDouble);
  const at::Tensor x_fp = x;
  for (size_t i = 0; i < fp.num_blocks(); ++i) {
    INFO("block " << i);
    const Expected e = expected_block(fp.block(i), c, x, 4);
    check_close(m.block(i), e.block);
    x = e.out;
  }
  // Block 1 calibrated on the quantized path: its FP-path input would give other weights.
  const at::Tensor fp_out = expected_block_fp_output(fp.block(0), c, x_fp);
  const Expected on_fp = expected_block(fp.block(1), c, fp_out, 4);
  CHECK_FALSE(at::allclose(m.block(1).q_proj.weight, on_fp.block.q_proj.weight, 1e-4, 1e-6));

  // Every weight stays on its quantization grid: w = (n - zero) * scale with an integer n in [0, 15].
  REQUIRE(q.report.qparams.size() == 2 * 7 * fp.num_blocks());
  const at::Tensor scale = q.report.qparams[0].second, zero = q.report.qparams[1].second;
  const at::Tensor n = m.block(0).q_proj.weight / scale.reshape({c.hidden_size, -1}) + zero.reshape({c.hidden_size, -1});
  CHECK(at::allclose(n, n.round(), 0, 1e-3));
  CHECK(n.min().item<double>() > -0.01);
  CHECK(n.max().item<double>() < 15.01);
}

TEST_CASE("linear-group inputs are what the block's linears see, in forward order", "[unit][engine]") {
  const LlamaConfig c = ptq::test::tiny_config();
  const ptq::LlamaModel fp = ptq::test::random_model(c, 92);
  at::manual_seed(6);
  const at::Tensor x = at::randn({2, 8, c.hidden_size});
  const auto rope_tables = fp.rope(8);
  const DecoderBlock& b = fp.block(0);
  const auto in = [&](ptq::recon::LinearGroup g) { return ptq::recon::linear_group_inputs(b, c, g, x, rope_tables, {}, 1); };
  const at::Tensor xd = x.to(at::kDouble);
  const at::Tensor n1 = naive_rms(xd, b.input_layernorm, c.rms_norm_eps);
  CHECK(at::allclose(in(ptq::recon::LinearGroup::kQkv).to(at::kDouble), n1.reshape({-1, c.hidden_size}), 1e-5, 1e-6));
  const at::Tensor ctx = at::stack({context(b, c, n1[0]), context(b, c, n1[1])}).reshape({16, -1});
  CHECK(at::allclose(in(ptq::recon::LinearGroup::kOut).to(at::kDouble), ctx, 1e-4, 1e-5));
  const at::Tensor h = xd + at::matmul(ctx, b.o_proj.weight.to(at::kDouble).t()).view(xd.sizes());
  const at::Tensor gu = naive_rms(h, b.post_attention_layernorm, c.rms_norm_eps).reshape({16, -1});
  CHECK(at::allclose(in(ptq::recon::LinearGroup::kGateUp).to(at::kDouble), gu, 1e-4, 1e-5));
  const at::Tensor down = at::silu(at::matmul(gu, b.gate_proj.weight.to(at::kDouble).t())) *
                          at::matmul(gu, b.up_proj.weight.to(at::kDouble).t());
  CHECK(at::allclose(in(ptq::recon::LinearGroup::kDown).to(at::kDouble), down, 1e-4, 1e-5));
  CHECK(ptq::recon::linears_of(ptq::recon::LinearGroup::kGateUp) == std::vector<size_t>{4, 5});
}
