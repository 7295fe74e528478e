// The example plugin's methods (README "Your own method", docs/plugins.md).
#pragma once

#include "harness/ptq/method.h"
#include "harness/quant/uniform_quantizer.h"

#include <ATen/core/Tensor.h>

#include <memory>

namespace example {

std::unique_ptr<ptq::quant::Method> make_rtn_mse();   // rtn_mse.cpp
std::unique_ptr<ptq::quant::Method> make_adaround();  // adaround.cpp

// GPTQ's MSE range search (quant.py Quantizer.find_params with mse=True): shrink factors
// p = 1 - i / grid for i < max_shrink * grid, error sum |Q(w) - w|^norm per row.
struct MseSearch {
  int64_t grid = 100;
  double max_shrink = 0.8;
  double norm = 2.4;
};
// The fake-quantized `rows` ([R, G]) with each row's range of least error; `qparams` receives its scale
// and zero point ([R, 1]). rtn_mse.cpp.
at::Tensor mse_range_search(const at::Tensor& rows, const ptq::quant::QuantizerSpec& spec, const MseSearch& search,
                            ptq::quant::QParams& qparams);

}  // namespace example
