// AWQ on one decoder block (llm-awq awq/quantize/pre_quant.py run_awq, auto_scale.py auto_scale_block and
// apply_scale, auto_clip.py auto_clip_block and apply_clip), for the Llama family:
//   1. capture, on the FP block, the inputs of its linears and the outputs of the inspected modules;
//   2. search the scales of four groups, each on the original block (the reference restores the block
//      after every trial and searches every group before applying any):
//        qkv     input_layernorm -> q, k, v; inspected: the whole attention (with o_proj)
//        v_o     v_proj -> o_proj; inspected: o_proj. Only when v_proj and o_proj weights have the same
//                shape (multi-head attention; grouped-query models skip it: llm-awq PR #67)
//        gate_up post_attention_layernorm -> gate, up; inspected: the whole MLP (with down_proj)
//        down    up_proj -> down_proj; inspected: down_proj
//   3. apply them (an exact equivalence transform in real arithmetic) and divide the captured inputs of
//      the scaled linears by them;
//   4. clip search and clamp of every linear but q_proj and k_proj (the reference skips them: "due to qk
//      bmm, it is hard to clip precisely").
// The block comes back scaled and clipped, not yet quantized.
#pragma once

#include "harness/model/llama_model.h"
#include "harness/quant/uniform_quantizer.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace ptq::methods::awq {

// One scale vector per group; undefined: not applied (auto_scale off, or v_o on a GQA block).
struct GroupScales {
  at::Tensor qkv, v_o, gate_up, down;
};

// Whether the v_proj -> o_proj group is searched (the reference's shape test).
bool searches_v_o(const DecoderBlock& b);

// The equivalence transform: a norm's gain (and bias) divided by s, the linears reading it multiplied by s
// over their input columns; for a linear -> linear pair the first one's output rows (and bias) divided by
// s, the second one's input columns multiplied. New tensors: `b`'s own are untouched.
DecoderBlock apply_scales(const DecoderBlock& b, const GroupScales& s);

// What one block's forward gives the searches: each group's input and each inspected module's output, on
// the block's device, in the block's dtype.
struct BlockCapture {
  at::Tensor attn_in;   // input_norm(x)                      [n, T, hidden]  (q, k, v)
  at::Tensor o_in;      // attention context                  [n, T, q_dim]   (o_proj)
  at::Tensor mlp_in;    // post_attention_norm(h)             [n, T, hidden]  (gate, up)
  at::Tensor down_in;   // silu(gate) * up                    [n, T, inter]   (down_proj)
  at::Tensor attn_out;  // attention_forward(attn_in)         [n, T, hidden]
  at::Tensor mlp_out;   // mlp_forward(mlp_in)                [n, T, hidden]
};
// `x`: the block's input [n, T, hidden] (may rest on the host), computed `batch` windows at a time.
BlockCapture capture_block(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x, const RopeTables& rope,
                           int64_t batch);

struct BlockOptions {
  int n_grid = 20;
  bool auto_scale = true, auto_clip = true;
  double max_shrink = 0.5;
  int clip_grid = 20;
  int64_t n_sample_token = 512;
};

struct BlockResult {
  DecoderBlock block;  // scaled and clipped, not quantized
  GroupScales scales;
  // The chosen ratio of each group (-1: not searched).
  double ratio_qkv = -1, ratio_v_o = -1, ratio_gate_up = -1, ratio_down = -1;
  double clip_ratio_mean = 1;  // mean over every (row, group) of the clipped linears of the chosen 1 - i / n_grid
};

// Steps 1-4 above on the FP block `fp` with inputs `x`; `name` ("block 3") names the block in errors.
BlockResult awq_block(const DecoderBlock& fp, const LlamaConfig& c, const at::Tensor& x, const RopeTables& rope,
                      int64_t batch, const quant::QuantizerSpec& spec, const BlockOptions& o, const std::string& name);

}  // namespace ptq::methods::awq
