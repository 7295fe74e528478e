// CBQ's coarse-to-fine pre-processing (CFP; research/cbq_mppq.md §1.2.6). The paper's text is not
// readable; the procedure follows Huawei's implementation (msModelSlim cbq.py, EAQuant's
// calcu_outlier_mask) as the dossier records it:
//   coarse: candidates above q_hi + k * (q_hi - q_lo) of the per-channel statistic (k = 1.5; quantiles
//           0.25/0.75 as the paper's text, 0.20/0.80 as Huawei's code);
//   fine:   the candidates sorted descending are split into "up" (outliers) and "bottom" at the split
//           maximising |min(up) - max(bottom)| - var(bottom) (unbiased variance, 0 for one element);
//           for negative values the mirror image (- var(up));
//   scale:  outlier channel c gets s_c = (max_c / max_normal)^0.7 (negative side: min_c / min_normal),
//           the rest 1; the activation is divided by s and the consuming columns multiplied by s.
// Weights: per output row, entries whose |w| lies above the row's fine threshold are truncated to it.
//
// Order [A: issue #25]: the weights are truncated as they are in the FP block, and the activation
// scaling is folded in afterwards. The other order (scale first, as before) makes the scaled columns
// themselves the rows' outliers and truncates the very weights that carry the moved activation
// outliers: on 4096-wide Gaussian rows a column x4 is clipped in ~42 % of rows, x8 in ~66 %.
#pragma once

#include "harness/model/llama_model.h"

#include <nlohmann/json.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace ptq::methods::cbq {

struct CfpOptions {
  double q_low = 0.25, q_high = 0.75;  // paper text; Huawei: 0.20 / 0.80
  double iqr_factor = 1.5;             // lambda_1
  double smooth_rate = 0.7;            // the exponent of the scale
};

// The outliers among `values` (1-D): their indices (descending by value) and the threshold below which
// values are normal (the largest non-outlier candidate after the fine split, or the coarse threshold).
struct OutlierSplit {
  std::vector<int64_t> outliers;
  double threshold = 0;
};
OutlierSplit find_upper_outliers(const std::vector<double>& values, const CfpOptions& o);

// Per-channel scales from the per-channel max and min of an activation over the calibration tokens.
struct ActivationOutliers {
  at::Tensor scale;                             // [channels], 1 for normal channels
  std::vector<int64_t> positive, negative;      // outlier channels found on each side
};
ActivationOutliers activation_outlier_scales(const at::Tensor& channel_max, const at::Tensor& channel_min,
                                             const CfpOptions& o);

// Truncates, row by row, the entries of `weight` ([out, in]) whose magnitude is a fine-stage outlier of
// the row's |w| to that row's threshold (sign kept). Returns the number of entries changed.
int64_t truncate_weight_outliers(at::Tensor& weight, const CfpOptions& o);

// What CFP does to one block.
struct CfpSteps {
  bool weights = true;      // truncate weight outliers (per output row)
  bool activations = true;  // scale activation outlier channels into the weights
};

// CFP on one FP block whose inputs on the calibration windows are `x` (statistics on the FP block,
// `batch` samples at a time): the weight truncation, then the exact channel scaling of the three
// activation pairs norm -> {q,k,v}, norm -> {gate,up} and up -> down. `log` receives the counts.
DecoderBlock cfp_transform_block(const DecoderBlock& fp, const LlamaConfig& c, const at::Tensor& x, const RopeTables& rope,
                                 int64_t batch, const CfpOptions& o, const CfpSteps& steps, nlohmann::json& log);

}  // namespace ptq::methods::cbq
