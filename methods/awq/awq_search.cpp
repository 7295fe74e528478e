#include "methods/awq/awq_search.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace ptq::methods::awq {

at::Tensor act_mean(const at::Tensor& x) {
  at::NoGradGuard no_grad;
  const at::Tensor rows = x.reshape({-1, x.size(-1)});
  const int64_t n = rows.size(0);
  if (n == 0) throw std::invalid_argument("awq: no tokens to take activation statistics from");
  constexpr int64_t kChunk = 8192;  // bounds the |x| temporary of a large capture
  at::Tensor sum = at::zeros({rows.size(1)}, rows.options().dtype(at::kDouble));
  for (int64_t r = 0; r < n; r += kChunk)
    sum += at::sum(rows.narrow(0, r, std::min(kChunk, n - r)).abs(), {0}, /*keepdim=*/false, at::kDouble);
  return (sum / static_cast<double>(n)).to(at::kFloat);
}

at::Tensor candidate_scales(const at::Tensor& x_mean, double ratio) {
  const at::Tensor s = x_mean.to(at::kFloat).pow(ratio).clamp_min(1e-4);
  return s / (s.max() * s.min()).sqrt();
}

at::Tensor scaled_fake_quant(const at::Tensor& weight, const at::Tensor& s, const quant::QuantizerSpec& spec) {
  const at::Tensor cols = s.to(weight.device(), at::kFloat).view({1, -1});
  const at::Tensor ws = (weight.to(at::kFloat) * cols).to(weight.scalar_type());
  return (quant::fake_quant_weight(ws, spec).to(at::kFloat) / cols).to(weight.scalar_type());
}

ScaleSearch search_scale(const at::Tensor& x_mean, const std::vector<at::Tensor>& weights, const quant::QuantizerSpec& spec,
                         int n_grid, const TrialLoss& loss, const std::string& what) {
  at::NoGradGuard no_grad;
  ScaleSearch r;
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < n_grid; ++i) {
    const double ratio = static_cast<double>(i) / n_grid;
    const at::Tensor s = candidate_scales(x_mean, ratio);
    std::vector<at::Tensor> trial;
    for (const at::Tensor& w : weights) trial.push_back(scaled_fake_quant(w, s, spec));
    const double l = loss(trial);
    r.losses.push_back(l);
    if (l < best) {  // strictly smaller: the first minimum wins; NaN never does
      best = l;
      r.ratio = ratio;
      r.scales = s;
    }
  }
  if (r.ratio < 0) {
    std::string losses;
    for (const double l : r.losses) losses += (losses.empty() ? "" : ", ") + fmt::format("{}", l);
    throw std::runtime_error(fmt::format("awq: {}: no scale ratio gives a finite loss (losses: {})", what, losses));
  }
  return r;
}

at::Tensor sample_tokens(const at::Tensor& x, int64_t n_sample_token) {
  const int64_t n = x.size(0);
  const int64_t step = std::max<int64_t>(1, n / n_sample_token);
  return x.slice(0, 0, n, step);
}

ClipSearch search_clip(const at::Tensor& weight, const at::Tensor& x, const quant::QuantizerSpec& spec, int n_grid,
                       double max_shrink, int64_t n_sample_token, int64_t row_batch) {
  at::NoGradGuard no_grad;
  const int64_t out = weight.size(0), in = weight.size(1);
  const int64_t group = spec.group_size > 0 ? spec.group_size : in;
  if (in % group != 0) throw std::invalid_argument(fmt::format("awq: group size {} does not divide {}", group, in));
  const int64_t groups = in / group;
  const at::ScalarType dt = weight.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const at::Tensor xs = sample_tokens(x.reshape({-1, in}), n_sample_token).to(weight.device(), dt);
  const at::Tensor xg = xs.view({xs.size(0), groups, group}).permute({1, 0, 2});  // [groups, S, group]
  const int steps = static_cast<int>(max_shrink * n_grid);
  const at::Tensor w_all = weight.to(dt);
  std::vector<at::Tensor> best_all, ratio_all;
  for (int64_t r0 = 0; r0 < out; r0 += row_batch) {
    const int64_t rows = std::min(row_batch, out - r0);
    const at::Tensor w = w_all.narrow(0, r0, rows).reshape({rows, groups, group});
    const at::Tensor org_max = w.abs().amax({-1}, /*keepdim=*/true);  // [rows, groups, 1]
    // Per (row, group, token): sum over the group's columns of x * w, as [groups, S, rows].
    const auto group_out = [&](const at::Tensor& wg) { return at::bmm(xg, wg.permute({1, 2, 0})); };
    const at::Tensor org_out = group_out(w);
    at::Tensor best = org_max.clone(), ratio = at::ones_like(org_max);
    at::Tensor min_err = at::full_like(org_max, std::numeric_limits<double>::infinity());
    for (int i = 0; i < steps; ++i) {
      const double factor = 1.0 - static_cast<double>(i) / n_grid;
      const at::Tensor max_val = org_max * factor;
      const at::Tensor clamped = at::maximum(at::minimum(w, max_val), -max_val);
      const at::Tensor q = quant::fake_quant_weight(clamped.reshape({rows, in}), spec).reshape({rows, groups, group});
      const at::Tensor err = (group_out(q) - org_out).pow(2).mean({1}).t().unsqueeze(-1);  // [rows, groups, 1]
      const at::Tensor better = err < min_err;
      min_err = at::where(better, err, min_err);
      best = at::where(better, max_val, best);
      ratio = at::where(better, at::full_like(ratio, factor), ratio);
    }
    best_all.push_back(best.squeeze(-1));
    ratio_all.push_back(ratio.squeeze(-1));
  }
  return {at::cat(best_all, 0), at::cat(ratio_all, 0)};
}

at::Tensor apply_clip(const at::Tensor& weight, const at::Tensor& max_val) {
  const int64_t out = weight.size(0), groups = max_val.size(1);
  const at::Tensor mv = max_val.to(weight.device(), weight.scalar_type()).unsqueeze(-1);
  const at::Tensor w = weight.reshape({out, groups, -1});
  return at::maximum(at::minimum(w, mv), -mv).reshape(weight.sizes());
}

}  // namespace ptq::methods::awq
