#include "methods/awq/awq_block.h"

#include "methods/awq/awq_search.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <vector>

namespace ptq::methods::awq {

namespace {

// Column scaling (input channels) of a weight, in float32, stored in the weight's dtype.
at::Tensor mul_cols(const at::Tensor& w, const at::Tensor& s) {
  return (w.to(at::kFloat) * s.to(w.device(), at::kFloat).view({1, -1})).to(w.scalar_type());
}
// A vector (norm gain, bias) or a weight's rows divided by s.
at::Tensor div_rows(const at::Tensor& t, const at::Tensor& s) {
  const at::Tensor sf = s.to(t.device(), at::kFloat);
  return (t.to(at::kFloat) / (t.dim() == 1 ? sf : sf.view({-1, 1}))).to(t.scalar_type());
}
at::Tensor div_if(const at::Tensor& t, const at::Tensor& s) { return t.defined() ? div_rows(t, s) : t; }

// Mean over every element of (org - out)^2, in float, `batch` windows at a time (out_of(j, nb): the
// trial module's output on windows [j, j + nb)).
double batched_mse(const at::Tensor& org, int64_t batch, const std::function<at::Tensor(int64_t, int64_t)>& out_of) {
  double sum = 0;
  for (int64_t j = 0; j < org.size(0); j += batch) {
    const int64_t nb = std::min(batch, org.size(0) - j);
    sum += (org.narrow(0, j, nb) - out_of(j, nb)).to(at::kFloat).pow(2).sum(at::kDouble).item<double>();
  }
  return sum / static_cast<double>(org.numel());
}

at::Tensor flat(const at::Tensor& x) { return x.reshape({-1, x.size(-1)}); }

}  // namespace

bool searches_v_o(const DecoderBlock& b) { return b.v_proj.weight.sizes() == b.o_proj.weight.sizes(); }

DecoderBlock apply_scales(const DecoderBlock& in, const GroupScales& s) {
  DecoderBlock b = in;  // shares the tensors: every change below makes a new one
  if (s.qkv.defined()) {
    b.input_layernorm = div_rows(b.input_layernorm, s.qkv);
    b.input_layernorm_bias = div_if(b.input_layernorm_bias, s.qkv);
    for (Linear* l : {&b.q_proj, &b.k_proj, &b.v_proj}) l->weight = mul_cols(l->weight, s.qkv);
  }
  if (s.v_o.defined()) {
    b.v_proj.weight = div_rows(b.v_proj.weight, s.v_o);
    b.v_proj.bias = div_if(b.v_proj.bias, s.v_o);
    b.o_proj.weight = mul_cols(b.o_proj.weight, s.v_o);
  }
  if (s.gate_up.defined()) {
    b.post_attention_layernorm = div_rows(b.post_attention_layernorm, s.gate_up);
    b.post_attention_layernorm_bias = div_if(b.post_attention_layernorm_bias, s.gate_up);
    for (Linear* l : {&b.gate_proj, &b.up_proj}) l->weight = mul_cols(l->weight, s.gate_up);
  }
  if (s.down.defined()) {
    b.up_proj.weight = div_rows(b.up_proj.weight, s.down);
    b.up_proj.bias = div_if(b.up_proj.bias, s.down);
    b.down_proj.weight = mul_cols(b.down_proj.weight, s.down);
  }
  return b;
}

BlockCapture capture_block(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x, const RopeTables& rope,
                           int64_t batch) {
  at::NoGradGuard no_grad;
  const at::Device dev = b.q_proj.weight.device();
  std::vector<at::Tensor> attn_in, o_in, mlp_in, down_in, attn_out, mlp_out;
  for (int64_t j = 0; j < x.size(0); j += batch) {
    const at::Tensor xb = x.narrow(0, j, std::min(batch, x.size(0) - j)).to(dev);
    const at::Tensor n1 = input_norm(b, c, xb);
    const at::Tensor ctx = attention_context(b, c, n1, rope);
    const at::Tensor attn = b.o_proj(ctx);
    const at::Tensor n2 = post_attention_norm(b, c, xb + attn);
    const at::Tensor d = at::silu(b.gate_proj(n2)) * b.up_proj(n2);
    attn_in.push_back(n1);
    o_in.push_back(ctx);
    attn_out.push_back(attn);
    mlp_in.push_back(n2);
    down_in.push_back(d);
    mlp_out.push_back(b.down_proj(d));
  }
  return {at::cat(attn_in), at::cat(o_in), at::cat(mlp_in), at::cat(down_in), at::cat(attn_out), at::cat(mlp_out)};
}

namespace {

// Step 2: the four groups' scale searches on the original block `fp`; fills r.scales and the ratios.
void search_scales(const DecoderBlock& fp, const LlamaConfig& c, const BlockCapture& cap, const RopeTables& rope,
                   int64_t batch, const quant::QuantizerSpec& spec, const BlockOptions& o, const std::string& name,
                   BlockResult& r) {
  const auto search = [&](const char* group, const at::Tensor& in, const std::vector<at::Tensor>& weights,
                          const TrialLoss& loss) {
    return search_scale(act_mean(in), weights, spec, o.n_grid, loss, fmt::format("{}, scaling group {}", name, group));
  };
  // A trial replaces only the group's weights in the original block.
  const ScaleSearch qkv = search("qkv (input_layernorm -> q/k/v_proj)", cap.attn_in,
                                 {fp.q_proj.weight, fp.k_proj.weight, fp.v_proj.weight}, [&](const std::vector<at::Tensor>& t) {
                                   DecoderBlock tb = fp;
                                   tb.q_proj.weight = t[0];
                                   tb.k_proj.weight = t[1];
                                   tb.v_proj.weight = t[2];
                                   return batched_mse(cap.attn_out, batch, [&](int64_t j, int64_t nb) {
                                     return attention_forward(tb, c, cap.attn_in.narrow(0, j, nb), rope);
                                   });
                                 });
  r.scales.qkv = qkv.scales;
  r.ratio_qkv = qkv.ratio;
  if (searches_v_o(fp)) {
    const ScaleSearch v_o = search("v_o (v_proj -> o_proj)", cap.o_in, {fp.o_proj.weight}, [&](const std::vector<at::Tensor>& t) {
      const Linear trial{t[0], fp.o_proj.bias};
      return batched_mse(cap.attn_out, batch, [&](int64_t j, int64_t nb) { return trial(cap.o_in.narrow(0, j, nb)); });
    });
    r.scales.v_o = v_o.scales;
    r.ratio_v_o = v_o.ratio;
  }
  const ScaleSearch gate_up = search("gate_up (post_attention_layernorm -> gate/up_proj)", cap.mlp_in,
                                     {fp.gate_proj.weight, fp.up_proj.weight}, [&](const std::vector<at::Tensor>& t) {
                                       DecoderBlock tb = fp;
                                       tb.gate_proj.weight = t[0];
                                       tb.up_proj.weight = t[1];
                                       return batched_mse(cap.mlp_out, batch, [&](int64_t j, int64_t nb) {
                                         return mlp_forward(tb, cap.mlp_in.narrow(0, j, nb));
                                       });
                                     });
  r.scales.gate_up = gate_up.scales;
  r.ratio_gate_up = gate_up.ratio;
  const ScaleSearch down = search("down (up_proj -> down_proj)", cap.down_in, {fp.down_proj.weight},
                                  [&](const std::vector<at::Tensor>& t) {
                                    const Linear trial{t[0], fp.down_proj.bias};
                                    return batched_mse(cap.mlp_out, batch, [&](int64_t j, int64_t nb) {
                                      return trial(cap.down_in.narrow(0, j, nb));
                                    });
                                  });
  r.scales.down = down.scales;
  r.ratio_down = down.ratio;
}

// Step 4: the clip search and clamp of every linear of the scaled block but q/k, on the captured inputs
// divided by the scales applied to their columns (apply_scale's input_feat_dict). Frees `cap` as it goes.
void clip_linears(BlockCapture& cap, const quant::QuantizerSpec& spec, const BlockOptions& o, BlockResult& r) {
  const auto scaled_in = [](const at::Tensor& x, const at::Tensor& s) {
    return s.defined() ? flat(x) / s.to(x.device(), x.scalar_type()) : flat(x);
  };
  double ratio_sum = 0;
  int64_t ratio_count = 0;
  const auto clip = [&](Linear& l, const at::Tensor& in) {
    const ClipSearch cs = search_clip(l.weight, in, spec, o.clip_grid, o.max_shrink, o.n_sample_token);
    l.weight = apply_clip(l.weight, cs.max_val);
    ratio_sum += cs.ratio.sum(at::kDouble).item<double>();
    ratio_count += cs.ratio.numel();
  };
  clip(r.block.v_proj, scaled_in(cap.attn_in, r.scales.qkv));
  cap.attn_in = at::Tensor();
  clip(r.block.o_proj, scaled_in(cap.o_in, r.scales.v_o));
  cap.o_in = at::Tensor();
  {
    const at::Tensor in = scaled_in(cap.mlp_in, r.scales.gate_up);
    cap.mlp_in = at::Tensor();
    clip(r.block.gate_proj, in);
    clip(r.block.up_proj, in);
  }
  clip(r.block.down_proj, scaled_in(cap.down_in, r.scales.down));
  r.clip_ratio_mean = ratio_sum / static_cast<double>(ratio_count);
}

}  // namespace

BlockResult awq_block(const DecoderBlock& fp, const LlamaConfig& c, const at::Tensor& x, const RopeTables& rope,
                      int64_t batch, const quant::QuantizerSpec& spec, const BlockOptions& o, const std::string& name) {
  at::NoGradGuard no_grad;
  BlockCapture cap = capture_block(fp, c, x, rope, batch);
  BlockResult r;
  if (o.auto_scale) search_scales(fp, c, cap, rope, batch, spec, o, name, r);
  cap.attn_out = cap.mlp_out = at::Tensor();  // the searches' targets are no longer needed
  r.block = apply_scales(fp, r.scales);
  if (o.auto_clip) clip_linears(cap, spec, o, r);
  return r;
}

}  // namespace ptq::methods::awq
