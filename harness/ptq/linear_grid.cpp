#include "harness/ptq/linear_grid.h"

#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

namespace ptq::quant {

namespace {

constexpr const char* kSuffixes[] = {".weight_scale", ".weight_zero", ".weight_g_idx"};

// Relative rounding of a value stored in `dtype` (half an ulp), 0 for float32 and wider (covered by the
// fixed part of the tolerance).
double storage_rounding(c10::ScalarType dtype) {
  if (dtype == at::kHalf) return std::ldexp(1.0, -11);
  if (dtype == at::kBFloat16) return std::ldexp(1.0, -8);
  return 0.0;
}

}  // namespace

std::map<std::string, LinearGrid> linear_grids(const std::vector<std::pair<std::string, at::Tensor>>& qparams) {
  std::map<std::string, LinearGrid> grids;
  for (const auto& [name, t] : qparams)
    for (int k = 0; k < 3; ++k) {
      if (!ends_with(name, kSuffixes[k])) continue;
      LinearGrid& g = grids[name.substr(0, name.size() - std::char_traits<char>::length(kSuffixes[k]))];
      const at::Tensor cpu = t.detach().to(at::kCPU);
      if (k == 0) g.scale = cpu.to(at::kFloat);
      else if (k == 1) g.zero = cpu.to(at::kFloat);
      else g.g_idx = cpu.to(at::kLong).reshape({-1});
    }
  return grids;
}

at::Tensor column_groups(const LinearGrid& grid, int64_t in) {
  if (grid.g_idx.defined()) return grid.g_idx;
  const int64_t groups = grid.scale.size(1);
  return at::div(at::arange(in, at::kLong), in / groups, "floor");
}

at::Tensor grid_integers(const at::Tensor& weight, const LinearGrid& grid, int bits, c10::ScalarType stored_dtype,
                         const std::string& name) {
  const at::Tensor w = weight.detach().to(at::kCPU, at::kDouble);
  const at::Tensor groups = column_groups(grid, w.size(1));
  const at::Tensor scale = grid.scale.to(at::kDouble).index_select(1, groups);
  const at::Tensor zero = grid.zero.to(at::kDouble).index_select(1, groups);
  const at::Tensor steps = w / scale;
  const at::Tensor nearest = at::round(steps);
  // In steps: float32 arithmetic of the fold (1e-3 is far above it) plus the storage dtype's rounding.
  const at::Tensor off = (steps - nearest).abs() - (1e-3 + nearest.abs() * storage_rounding(stored_dtype));
  const at::Tensor q = nearest + zero;
  const double qmax = std::ldexp(1.0, bits) - 1;
  const at::Tensor outside = q.lt(0).logical_or(q.gt(qmax));
  const at::Tensor bad = off.gt(0).logical_or(outside);
  if (const int64_t count = bad.sum().item<int64_t>(); count > 0) {
    // The worst element: outside [0, 2^bits - 1] first, then the farthest from an integer.
    const at::Tensor score = at::where(bad, (steps - nearest).abs() + outside.to(at::kDouble) * 1e6, at::full_like(steps, -1.0));
    const int64_t worst = at::argmax(score).item<int64_t>();
    const int64_t r = worst / w.size(1), c = worst % w.size(1);
    throw InputError(fmt::format(
        "{}: {} of {} weights are not on the {}-bit grid of their scales and zero points (worst: [{}, {}] = {:.6g} lies "
        "{:.3f} steps of {:.6g} from an integer, q = {}); this result is not a plain uniform grid and cannot be packed",
        name, count, w.numel(), bits, r, c, w[r][c].item<double>(), (steps[r][c] - nearest[r][c]).abs().item<double>(),
        scale[r][c].item<double>(), q[r][c].item<double>()));
  }
  return q.to(at::kInt);
}

at::Tensor dequantize_grid(const at::Tensor& q, const LinearGrid& grid) {
  const at::Tensor groups = column_groups(grid, q.size(1));
  const at::Tensor scale = grid.scale.to(at::kFloat).index_select(1, groups);
  const at::Tensor zero = grid.zero.to(at::kFloat).index_select(1, groups);
  return (q.to(at::kFloat) - zero) * scale;
}

}  // namespace ptq::quant
