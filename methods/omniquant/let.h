// OmniQuant's learnable equivalent transformation (LET) for a LLaMA block
// (research/omniquant_lrquant.md §1.3; models/transformation.py and quantize/omniquant.py of the
// reference). Four channel-wise transforms, each an exact identity in FP except where noted:
//
//   input_layernorm -> {q,k,v}:  norm /= s1, norm bias = (b - d1)/s1;  W_qkv *= s1 (columns), b += W d1
//   v -> o:                      W_v /= s2 (rows), b_v = (b_v - d2)/s2;  W_o *= s2 (columns), b_o += W_o d2
//   q -> k (before RoPE):        W_q /= s3 (rows), W_k *= s3 (rows)
//   post_attention_layernorm -> {gate,up}: as the first pair with s4, d4
//   down_proj: never transformed.
//
// The q/k pair sits before RoPE as in the reference, where it is an identity only when s3 is equal on
// the channel pairs (i, i + head_dim/2) that RoPE rotates together; "qk_scale": "rope_paired" ties
// them so the transform stays exact, "released" leaves them free (the reference), "off" drops s3.
//
// Architecture variants (harness/model/llama_config.h). The released code has LLaMA, OPT, Falcon and Mixtral
// only; here: biases (qwen2's q/k/v, llama/qwen3's attention_bias) pass through every transform exactly
// (the formulas above with b = the existing bias). qwen3 normalises each head of q and k (q_norm/k_norm)
// between the projections and RoPE: scaling q's rows by 1/s3 and k's by s3 there changes the RMS each
// norm divides by, so the q/k pair is no equivalence transform and LET runs on qwen3 only with the q/k
// scale off (check_let_model refuses anything else); the norm -> q/k/v and v -> o pairs act before and
// beside those norms and stay exact. A non-zero shift gives linears biases some types' classes have no
// place for (mistral: any; qwen2: o_proj; every type but llama: gate/up/down): the checkpoint keeps its
// model_type and declares them as ptqbench_* keys (LlamaConfig::to_json).
//
// Grouped-query attention (beyond the reference, which crashes on KV heads < query heads): s2, d2 and
// s3 have one entry per K/V channel (kv_dim) and are shared by the query heads reading that K/V head,
// so W_o's columns and W_q's rows use them repeated as HF's repeat_kv repeats K/V. The transform stays
// exact; with as many K/V heads as query heads this is the reference's parameterisation.
#pragma once

#include "harness/model/llama_model.h"

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace ptq::methods {

// The q/k scale (see above): free per channel (the reference), tied on RoPE pairs, or none.
enum class QkScale { kReleased, kRopePaired, kOff };
const std::vector<std::pair<std::string, QkScale>>& qk_scale_names();  // "released", "rope_paired", "off"

// The support statement of the methods built on LET (omniquant, lrquant, mppq) for `ptqbench ls methods`.
extern const char* const kLetModelSupport;
// InputError "<method>: model_type qwen3 ..." (one line) when LET is on with a q/k scale on a model with
// q/k norms (see above); nothing otherwise.
void check_let_model(const std::string& method, const LlamaConfig& config, bool let_enabled, QkScale qk_scale);

// LET's parameters at full size; shifts undefined when the transform has none (scales never are).
struct LetParams {
  at::Tensor qkv_scale, qkv_shift;  // [hidden]
  at::Tensor out_scale, out_shift;  // [kv_dim]
  at::Tensor qkt_scale;             // [kv_dim]; undefined = no q/k transform
  at::Tensor fc1_scale, fc1_shift;  // [hidden]
};

// The block with LET applied (differentiable in `p`): used for every training step, and under NoGrad
// for the final folding, so training and the folded model agree exactly.
DecoderBlock let_transform(const DecoderBlock& block, const LlamaConfig& config, const LetParams& p);

// max |x| per input channel of q_proj (= k, v), o_proj and up_proj (= gate) over the FP block's
// inputs `x` ([n, T, hidden], run in batches): the statistics of the reference's
// generate_act_scale_shift.py, taken from the same calibration windows.
struct LinearInputAbsMax {
  at::Tensor qkv;  // [hidden]
  at::Tensor out;  // [q_dim]
  at::Tensor fc1;  // [hidden]
};
LinearInputAbsMax linear_input_absmax(const DecoderBlock& block, const LlamaConfig& config, const at::Tensor& x,
                                      const RopeTables& rope, int64_t batch);

// SmoothQuant initialisation s = clamp(act^alpha / w^(1-alpha), 1e-5), act and w clamped to >= 1e-5,
// w = max over output rows of |W| (q_proj, o_proj, up_proj) or, with `signed_weight_max`, of W itself
// (the paper-era code, until commit ae39458). For GQA, s2 takes the max of act and w over the query
// heads sharing each K/V channel. Shifts start at 0 (LLaMA) when `with_shift`; s3 starts at 1.
LetParams smoothquant_init(const DecoderBlock& block, const LlamaConfig& config, const LinearInputAbsMax& act,
                           double alpha, bool signed_weight_max, bool with_shift, bool with_qk);

// o_proj's input channels grouped by the K/V channel they read (GQA): [q_dim] -> [kv_dim], the max over
// each group.
at::Tensor max_per_kv_channel(const at::Tensor& per_q_channel, const LlamaConfig& config);

// [kv_dim] -> [q_dim]: entry (kv head j, channel d) repeated for the query heads j*g .. j*g+g-1.
at::Tensor repeat_over_query_heads(const at::Tensor& per_kv_channel, const LlamaConfig& config);

}  // namespace ptq::methods
