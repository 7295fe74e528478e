// AWQ's two searches (mit-han-lab/llm-awq, awq/quantize/auto_scale.py and auto_clip.py), as pure
// functions on tensors so that each can be checked on a small layer against a naive reference:
//
//   scale search (auto_scale.py, _search_module_scale): x_mean = mean over tokens of |x| per input
//     channel (get_act_scale); for ratio = i / n_grid, i = 0 .. n_grid - 1:
//         s = clamp(x_mean^ratio, min 1e-4);  s = s / sqrt(max(s) * min(s))
//         each weight W of the group -> Q(W * s) / s            (s scales the input columns)
//         loss = mean of (org_out - out)^2 of the inspected module, in float
//     the first strictly smallest loss wins; no finite loss at all is an error.
//   clip search (auto_clip.py, auto_clip_layer): per (output row, group of input columns), of
//     max_val = org_max * (1 - i / n_grid), i = 0 .. int(max_shrink * n_grid) - 1, the one whose clamped
//     and quantized group gives the smallest mean over sampled tokens of (sum_k x_k q_k - sum_k x_k w_k)^2,
//     against the unclipped w; tokens are rows 0, step, 2 step, ... with step = N / n_sample_token.
//
// Q is the setting's weight fake-quantizer (harness/quant/uniform_quantizer.h).
#pragma once

#include "harness/quant/uniform_quantizer.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ptq::methods::awq {

// Mean of |x| per channel (last dim) over every other dim, accumulated in double; returns float32.
// The reference's get_act_scale.
at::Tensor act_mean(const at::Tensor& x);

// The candidate scales of `ratio` for per-channel statistics `x_mean` (float32, [in]).
at::Tensor candidate_scales(const at::Tensor& x_mean, double ratio);

// W -> Q(W * s) / s with s over the input columns, computed in float32 and returned in W's dtype
// (W * s is rounded to W's dtype before quantization, as the reference computes in the model's dtype).
at::Tensor scaled_fake_quant(const at::Tensor& weight, const at::Tensor& s, const quant::QuantizerSpec& spec);

struct ScaleSearch {
  double ratio = -1;          // the chosen ratio i / n_grid
  at::Tensor scales;          // float32 [in]: the chosen s
  std::vector<double> losses; // every ratio's loss, in grid order
};

// The inspected module's loss (mean squared error against its original output) with the group's weights
// replaced by `trial` (same order and shapes as the search's `weights`).
using TrialLoss = std::function<double(const std::vector<at::Tensor>& trial)>;

// The scale search over `weights` (the group's linears, which read the same input) with statistics
// `x_mean`. `what` names the block and group in the error raised when no ratio has a finite loss.
ScaleSearch search_scale(const at::Tensor& x_mean, const std::vector<at::Tensor>& weights, const quant::QuantizerSpec& spec,
                         int n_grid, const TrialLoss& loss, const std::string& what);

struct ClipSearch {
  at::Tensor max_val;  // [out, groups] float32: the chosen clamp bound of each (row, group)
  at::Tensor ratio;    // [out, groups] float32: the chosen 1 - i / n_grid
};

// Rows 0, step, 2 step, ... of `x` ([N, in]) with step = max(1, N / n_sample_token) (the reference's
// slice 0::N // n_sample_token, which fails for N < n_sample_token: step 1 there).
at::Tensor sample_tokens(const at::Tensor& x, int64_t n_sample_token);

// The clip search of one weight ([out, in]) on its inputs `x` ([N, in], already divided by the applied
// scales), computed in float32 (double for a double weight), `row_batch` output rows at a time (memory
// only). When both ends of a group are clipped, -min / scale is (2^N - 1) / 2 up to rounding error and
// the zero point's rounding - hence the choice - may go either way, in the reference's fp16 as here.
ClipSearch search_clip(const at::Tensor& weight, const at::Tensor& x, const quant::QuantizerSpec& spec, int n_grid,
                       double max_shrink, int64_t n_sample_token, int64_t row_batch = 256);

// The weight with each (row, group) clamped to [-max_val, max_val] (in the weight's dtype).
at::Tensor apply_clip(const at::Tensor& weight, const at::Tensor& max_val);

}  // namespace ptq::methods::awq
