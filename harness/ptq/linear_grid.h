// The integer grid behind a fake-quantized linear: its scales and zero points as a method reported them
// (MethodReport::qparams / quant_params.safetensors: "<linear>.weight_scale", "<linear>.weight_zero" and,
// with GPTQ's act-order, "<linear>.weight_g_idx"), and the integers that put its weight on that grid.
//
// Every method's fold writes W_hat = scale * (q - zero) with q in [0, 2^bits - 1], so the integers are
// recovered exactly as q = round(W_hat / scale) + zero (the quotient is within rounding of an integer). A
// weight that is not on its grid - a method whose result is not a plain uniform grid, or values stored in
// a dtype too coarse to tell the steps apart - is refused, never rounded onto it silently.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ptq::quant {

struct LinearGrid {
  at::Tensor scale;  // [out, groups] (groups = 1 per channel)
  at::Tensor zero;   // [out, groups], integer-valued
  at::Tensor g_idx;  // [in] int64: the group of each input column (act-order), or undefined: column / group size
};

// By linear name ("model.layers.0.self_attn.q_proj"). Entries of `qparams` that are not
// "<linear>.weight_scale/_zero/_g_idx" (a block's learned activation clipping) are skipped.
std::map<std::string, LinearGrid> linear_grids(const std::vector<std::pair<std::string, at::Tensor>>& qparams);

// The group of each of `in` input columns: g_idx when the grid has one, else column / (in / groups).
at::Tensor column_groups(const LinearGrid& grid, int64_t in);

// The integers q ([out, in] int32, in [0, 2^bits - 1]) of `weight` on `grid`. `stored_dtype` is the dtype
// the weight went through (a checkpoint saved in float16 moved it by up to 2^-11 of its value): the
// tolerance is 1e-3 of a step plus that rounding. InputError naming `name`, the count of elements off the
// grid and the worst one when the weight is not on it.
at::Tensor grid_integers(const at::Tensor& weight, const LinearGrid& grid, int bits, c10::ScalarType stored_dtype,
                         const std::string& name);

// W = scale * (q - zero) for the integers of grid_integers, in float32.
at::Tensor dequantize_grid(const at::Tensor& q, const LinearGrid& grid);

}  // namespace ptq::quant
