// MPPQ's coarse pre-search of clipping factors [A: research/cbq_mppq.md §2.4]: before training, each
// linear's weight clipping ratio c (both ends of every row's min/max times c) is chosen from a grid to
// minimise the layer-output error ||X W^T - X W_q(c)^T||^2 on calibration inputs X of that linear, under
// the training quantizer; LWC then starts at logit(c) instead of its fixed init.
#pragma once

#include "harness/model/llama_model.h"
#include "harness/quant/uniform_quantizer.h"
#include "harness/recon/block_recon.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace ptq::methods {

// The default grid: sigmoid(4) = 0.982 (LWC's own init: a ratio of 1 would freeze LWC's sigmoid) and
// 0.95, 0.90, ..., 0.50.
std::vector<double> default_clip_grid();

struct ClipSearchResult {
  double ratio = 1.0;
  std::vector<double> errors;  // per grid point: sum of squared layer-output errors
};

// `inputs`: [tokens, in_features] rows of the linear's input. Ties go to the earlier grid point.
ClipSearchResult search_clip_ratio(const at::Tensor& weight, const at::Tensor& inputs, const quant::QuantizerSpec& spec,
                                   const std::vector<double>& grid);

// The inputs of a block's four linear-input sites on the first `max_tokens` tokens of `x` ([n, T, hidden],
// FP path): [tokens, width] each, in ActivationSite order (q/k/v input, o_proj input,
// gate/up input, down_proj input).
std::vector<at::Tensor> sample_linear_inputs(const DecoderBlock& block, const LlamaConfig& config, const at::Tensor& x,
                                             const RopeTables& rope, int64_t max_tokens);

// Which site feeds linear k of DecoderBlock::linears().
ActivationSite input_site_of_linear(size_t k);

// The pre-search for OmniQuant's parts (LwcOptions::initial_ratios): each of the seven linears of
// `block` (LET-initialised) gets the grid ratio with the least layer-output error on the first `tokens`
// tokens of the block's FP-path calibration input in.x_fp.
std::vector<double> presearch_clip_ratios(const DecoderBlock& block, const recon::BlockInputs& in,
                                          const quant::QuantizerSpec& spec, const std::vector<double>& grid,
                                          int64_t tokens);

}  // namespace ptq::methods
