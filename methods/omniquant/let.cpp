#include "methods/omniquant/let.h"

#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>

namespace ptq::methods {

namespace {

// norm -> linears pair: y' = (y - d) / s feeds W * s with bias b + W d (the ORIGINAL W).
void smooth_norm_linears(at::Tensor& norm, at::Tensor& norm_bias, std::initializer_list<Linear*> linears,
                         const at::Tensor& s, const at::Tensor& d) {
  for (Linear* l : linears) {
    if (d.defined()) l->bias = l->bias.defined() ? l->bias + at::mv(l->weight, d) : at::mv(l->weight, d);
    l->weight = l->weight * s.unsqueeze(0);
  }
  if (d.defined())
    norm_bias = ((norm_bias.defined() ? norm_bias : at::zeros_like(norm)) - d) / s;
  else if (norm_bias.defined())
    norm_bias = norm_bias / s;
  norm = norm / s;
}

}  // namespace

at::Tensor max_per_kv_channel(const at::Tensor& v, const LlamaConfig& c) {
  return v.view({c.num_key_value_heads, c.kv_groups(), c.head_dim}).amax(1).reshape({c.kv_dim()});
}

at::Tensor repeat_over_query_heads(const at::Tensor& v, const LlamaConfig& c) {
  if (c.kv_groups() == 1) return v;
  return v.view({c.num_key_value_heads, 1, c.head_dim}).expand({c.num_key_value_heads, c.kv_groups(), c.head_dim}).reshape({c.q_dim()});
}

DecoderBlock let_transform(const DecoderBlock& b, const LlamaConfig& c, const LetParams& p) {
  DecoderBlock t = b;
  smooth_norm_linears(t.input_layernorm, t.input_layernorm_bias, {&t.q_proj, &t.k_proj, &t.v_proj}, p.qkv_scale, p.qkv_shift);

  // v -> o, continuing from the qkv-transformed v (the reference's smooth_fc_fc_temporary).
  if (p.out_shift.defined())
    t.v_proj.bias = ((t.v_proj.bias.defined() ? t.v_proj.bias : at::zeros_like(p.out_scale)) - p.out_shift) / p.out_scale;
  else if (t.v_proj.bias.defined())
    t.v_proj.bias = t.v_proj.bias / p.out_scale;
  t.v_proj.weight = t.v_proj.weight / p.out_scale.unsqueeze(1);
  // Attention rows sum to 1, so V - d2 leaves every head's output shifted by exactly d2.
  if (p.out_shift.defined()) {
    const at::Tensor d = at::mv(b.o_proj.weight, repeat_over_query_heads(p.out_shift, c));
    t.o_proj.bias = b.o_proj.bias.defined() ? b.o_proj.bias + d : d;
  }
  t.o_proj.weight = b.o_proj.weight * repeat_over_query_heads(p.out_scale, c).unsqueeze(0);

  if (p.qkt_scale.defined()) {
    const at::Tensor sq = repeat_over_query_heads(p.qkt_scale, c);
    t.q_proj.weight = t.q_proj.weight / sq.unsqueeze(1);
    if (t.q_proj.bias.defined()) t.q_proj.bias = t.q_proj.bias / sq;
    t.k_proj.weight = t.k_proj.weight * p.qkt_scale.unsqueeze(1);
    if (t.k_proj.bias.defined()) t.k_proj.bias = t.k_proj.bias * p.qkt_scale;
  }

  smooth_norm_linears(t.post_attention_layernorm, t.post_attention_layernorm_bias, {&t.gate_proj, &t.up_proj}, p.fc1_scale,
                      p.fc1_shift);
  return t;
}

LinearInputAbsMax linear_input_absmax(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x,
                                      const RopeTables& rope, int64_t batch) {
  at::NoGradGuard no_grad;
  LinearInputAbsMax m;
  const auto absmax = [](const at::Tensor& t) { return t.abs().reshape({-1, t.size(-1)}).amax(0).to(at::kFloat); };
  const auto merge = [](at::Tensor& acc, const at::Tensor& v) { acc = acc.defined() ? at::maximum(acc, v) : v; };
  for (int64_t j = 0; j < x.size(0); j += batch) {
    const at::Tensor xb = x.narrow(0, j, std::min(batch, x.size(0) - j)).to(b.q_proj.weight.device(), true);
    const at::Tensor xn = input_norm(b, c, xb);
    const at::Tensor context = attention_context(b, c, xn, rope);
    const at::Tensor h = xb + b.o_proj(context);
    merge(m.qkv, absmax(xn));
    merge(m.out, absmax(context));
    merge(m.fc1, absmax(post_attention_norm(b, c, h)));
  }
  return m;
}

LetParams smoothquant_init(const DecoderBlock& b, const LlamaConfig& c, const LinearInputAbsMax& act, double alpha,
                           bool signed_weight_max, bool with_shift, bool with_qk) {
  if (!act.qkv.defined()) throw InputError("LET's SmoothQuant initialisation needs calibration activations");
  at::NoGradGuard no_grad;
  const auto wmax = [&](const at::Tensor& w) {
    const at::Tensor w32 = w.to(at::kFloat);
    return signed_weight_max ? std::get<0>(w32.max(0)) : w32.abs().amax(0);
  };
  // The reference: act.clamp(1e-5)^alpha / w.clamp(1e-5)^(1 - alpha), clamped to >= 1e-5.
  const auto smooth = [&](const at::Tensor& a, const at::Tensor& w) {
    return (a.clamp_min(1e-5).pow(alpha) / w.clamp_min(1e-5).pow(1.0 - alpha)).clamp_min(1e-5);
  };
  const auto per_kv_channel = [&](const at::Tensor& v) { return max_per_kv_channel(v, c); };
  const auto opts = b.input_layernorm.options().dtype(at::kFloat);
  LetParams p;
  p.qkv_scale = smooth(act.qkv, wmax(b.q_proj.weight));
  p.out_scale = smooth(per_kv_channel(act.out), per_kv_channel(wmax(b.o_proj.weight)));
  p.fc1_scale = smooth(act.fc1, wmax(b.up_proj.weight));
  if (with_shift) {
    p.qkv_shift = at::zeros({c.hidden_size}, opts);
    p.out_shift = at::zeros({c.kv_dim()}, opts);
    p.fc1_shift = at::zeros({c.hidden_size}, opts);
  }
  if (with_qk) p.qkt_scale = at::ones({c.kv_dim()}, opts);
  return p;
}

const char* const kLetModelSupport =
    "llama, mistral, qwen2, qwen3; LWC on every type; LET carries q/k/v(/o) biases through its transforms, on qwen3 "
    "only with \"qk_scale\": \"off\" (its q/k RMSNorm before RoPE is no equivalence for a q/k scale); biases a "
    "shift adds that the type has no place for are saved as ptqbench_* config keys";

void check_let_model(const std::string& method, const LlamaConfig& c, bool let_enabled, QkScale qk_scale) {
  if (!let_enabled || qk_scale == QkScale::kOff || !c.qk_norm) return;
  throw InputError(fmt::format("{}: model_type {} normalises each head of q and k (q_norm, k_norm) before RoPE, where "
                               "LET's q/k scale is no equivalence transform: set \"qk_scale\": \"off\" (LET's other "
                               "transforms stay) or \"let\": \"off\"", method, c.model_type));
}

const std::vector<std::pair<std::string, QkScale>>& qk_scale_names() {
  static const std::vector<std::pair<std::string, QkScale>> names = {
      {"released", QkScale::kReleased}, {"rope_paired", QkScale::kRopePaired}, {"off", QkScale::kOff}};
  return names;
}

}  // namespace ptq::methods
