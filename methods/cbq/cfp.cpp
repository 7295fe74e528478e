#include "methods/cbq/cfp.h"

#include "harness/util/errors.h"
#include "methods/omniquant/let.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

namespace ptq::methods::cbq {

namespace {

// Linear-interpolated quantile (numpy/torch "linear"), of a copy.
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

double unbiased_variance(const std::vector<double>& v, size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n < 2) return 0;
  const double mean = std::accumulate(v.begin() + begin, v.begin() + end, 0.0) / static_cast<double>(n);
  double ss = 0;
  for (size_t i = begin; i < end; ++i) ss += (v[i] - mean) * (v[i] - mean);
  return ss / static_cast<double>(n - 1);
}

std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kDouble).contiguous().cpu();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

struct ChannelRange {
  at::Tensor max, min;
  void add(const at::Tensor& x) {
    const at::Tensor r = x.detach().reshape({-1, x.size(-1)}).to(at::kFloat);
    const at::Tensor mx = std::get<0>(r.max(0)), mn = std::get<0>(r.min(0));
    max = max.defined() ? at::maximum(max, mx) : mx;
    min = min.defined() ? at::minimum(min, mn) : mn;
  }
};

// The per-channel ranges of the block's three scaled activations (the q/k/v input, the gate/up input,
// the down input) on the FP block.
std::array<ChannelRange, 3> activation_ranges(const DecoderBlock& fp, const LlamaConfig& c, const at::Tensor& x,
                                              const RopeTables& rope, int64_t batch) {
  std::array<ChannelRange, 3> r;
  for (int64_t j = 0; j < x.size(0); j += batch) {
    const at::Tensor xb = x.narrow(0, j, std::min(batch, x.size(0) - j));
    const at::Tensor n1 = input_norm(fp, c, xb);
    const at::Tensor h = xb + attention_forward(fp, c, n1, rope);
    const at::Tensor n2 = post_attention_norm(fp, c, h);
    r[0].add(n1);
    r[1].add(n2);
    r[2].add(at::silu(fp.gate_proj(n2)) * fp.up_proj(n2));
  }
  return r;
}

}  // namespace

OutlierSplit find_upper_outliers(const std::vector<double>& values, const CfpOptions& o) {
  OutlierSplit r;
  if (values.empty()) return r;
  const double lo = quantile(values, o.q_low), hi = quantile(values, o.q_high);
  r.threshold = hi + o.iqr_factor * (hi - lo);
  std::vector<int64_t> cand;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] > r.threshold) cand.push_back(static_cast<int64_t>(i));
  std::sort(cand.begin(), cand.end(), [&](int64_t a, int64_t b) { return values[a] > values[b]; });
  if (cand.size() <= 1) {
    r.outliers = cand;
    return r;
  }
  std::vector<double> sorted;
  for (int64_t c : cand) sorted.push_back(values[c]);
  // Split after position idx: up = sorted[0..idx], bottom = sorted[idx+1..]; bottom never empty.
  size_t best = 0;
  double best_metric = -1e300;
  for (size_t idx = 0; idx + 1 < sorted.size(); ++idx) {
    const double metric = std::abs(sorted[idx] - sorted[idx + 1]) - unbiased_variance(sorted, idx + 1, sorted.size());
    if (metric > best_metric) {
      best_metric = metric;
      best = idx;
    }
  }
  r.outliers.assign(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(best + 1));
  r.threshold = sorted[best + 1];
  return r;
}

ActivationOutliers activation_outlier_scales(const at::Tensor& channel_max, const at::Tensor& channel_min,
                                             const CfpOptions& o) {
  if (channel_max.dim() != 1 || !channel_max.sizes().equals(channel_min.sizes()))
    throw InputError("CFP: per-channel max and min must be 1-D of one length");
  const std::vector<double> mx = to_vector(channel_max), mn = to_vector(channel_min);
  std::vector<double> neg(mn.size());
  for (size_t i = 0; i < mn.size(); ++i) neg[i] = -mn[i];  // the negative side, mirrored
  ActivationOutliers a;
  a.positive = find_upper_outliers(mx, o).outliers;
  a.negative = find_upper_outliers(neg, o).outliers;
  std::vector<bool> is_pos(mx.size(), false), is_neg(mx.size(), false);
  for (int64_t c : a.positive) is_pos[c] = true;
  for (int64_t c : a.negative) is_neg[c] = true;
  double max_normal = 0, min_normal = 0;
  for (size_t i = 0; i < mx.size(); ++i) {
    if (!is_pos[i]) max_normal = std::max(max_normal, mx[i]);
    if (!is_neg[i]) min_normal = std::min(min_normal, mn[i]);
  }
  std::vector<double> s(mx.size(), 1.0);
  for (int64_t c : a.positive)
    if (max_normal > 0) s[c] = std::max(s[c], std::pow(mx[c] / max_normal, o.smooth_rate));
  for (int64_t c : a.negative)
    if (min_normal < 0) s[c] = std::max(s[c], std::pow(mn[c] / min_normal, o.smooth_rate));
  a.scale = at::tensor(s, at::kDouble).to(at::kFloat);
  return a;
}

int64_t truncate_weight_outliers(at::Tensor& weight, const CfpOptions& o) {
  if (weight.dim() != 2) throw InputError("CFP: weight must be [out, in]");
  at::Tensor w = weight.detach().to(at::kFloat).contiguous().cpu().clone();
  const int64_t rows = w.size(0), cols = w.size(1);
  float* p = w.data_ptr<float>();
  int64_t changed = 0;
  std::vector<double> mag(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    float* row = p + r * cols;
    for (int64_t c = 0; c < cols; ++c) mag[static_cast<size_t>(c)] = std::abs(row[c]);
    const OutlierSplit split = find_upper_outliers(mag, o);
    for (int64_t c : split.outliers) {
      row[c] = static_cast<float>(std::copysign(split.threshold, row[c]));
      ++changed;
    }
  }
  weight = w.to(weight.device(), weight.scalar_type());
  return changed;
}

DecoderBlock cfp_transform_block(const DecoderBlock& fp, const LlamaConfig& c, const at::Tensor& x, const RopeTables& rope,
                                 int64_t batch, const CfpOptions& o, const CfpSteps& steps, nlohmann::json& log) {
  at::NoGradGuard no_grad;
  DecoderBlock b = fp;
  int64_t truncated = 0;
  if (steps.weights)  // first, on the weights as they are (see the header)
    for (Linear* l : b.linears()) truncated += truncate_weight_outliers(l->weight, o);
  log = {{"truncated_weights", truncated}};
  if (!steps.activations) return b;
  const auto ranges = activation_ranges(fp, c, x, rope, batch);
  std::array<ActivationOutliers, 3> a;
  for (size_t k = 0; k < a.size(); ++k) a[k] = activation_outlier_scales(ranges[k].max, ranges[k].min, o);
  methods::LetParams p;  // the scales in LET's form: the norm divided by s, the consuming columns times s
  p.qkv_scale = a[0].scale.to(fp.input_layernorm.scalar_type());
  p.fc1_scale = a[1].scale.to(fp.input_layernorm.scalar_type());
  p.out_scale = at::ones({c.kv_dim()}, p.qkv_scale.options());
  b = methods::let_transform(b, c, p);
  // up -> down: SiLU(gate) * up is linear in up, so up's rows / s and down's columns * s is exact.
  const at::Tensor s3 = a[2].scale.to(fp.up_proj.weight.scalar_type());
  b.up_proj.weight = b.up_proj.weight / s3.unsqueeze(1);
  if (b.up_proj.bias.defined()) b.up_proj.bias = b.up_proj.bias / s3;
  b.down_proj.weight = b.down_proj.weight * s3.unsqueeze(0);
  const auto count = [](const ActivationOutliers& o) { return o.positive.size() + o.negative.size(); };
  log["outlier_channels"] = {{"qkv_input", count(a[0])}, {"gate_up_input", count(a[1])}, {"down_input", count(a[2])}};
  return b;
}

}  // namespace ptq::methods::cbq
