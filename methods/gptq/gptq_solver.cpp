#include "methods/gptq/gptq_solver.h"

#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace ptq::methods {

HessianAccumulator::HessianAccumulator(int64_t columns, at::Device device, bool float64)
    : h_(at::zeros({columns, columns}, at::TensorOptions().device(device).dtype(float64 ? at::kDouble : at::kFloat))) {}

void HessianAccumulator::add(const at::Tensor& x) {
  at::NoGradGuard no_grad;
  const at::Tensor batch = x.dim() == 2 ? x.unsqueeze(0) : x;
  const int64_t sequences = batch.size(0);
  // add_batch's running mean: H = 2/N sum x x^T, rescaled as N grows (the sequences count, not tokens).
  h_.mul_(static_cast<double>(n_) / static_cast<double>(n_ + sequences));
  n_ += sequences;
  const at::Tensor inp = batch.reshape({-1, batch.size(-1)}).t().to(h_.device(), h_.scalar_type()) *
                         std::sqrt(2.0 / static_cast<double>(n_));
  h_.add_(at::matmul(inp, inp.t()));
}

namespace {

// The quantizer's scale and zero point of each row of `cols` ([out, k]) as [out, 1].
quant::QParams find_params(const at::Tensor& cols, const GptqSolverOptions& o) {
  quant::QuantizerSpec spec = o.spec;
  if (o.gptq_range) spec.range = quant::RangeRule::kGptqNearest;  // quant.py's Quantizer.find_params
  return quant::compute_qparams(cols, spec);
}

// H + damp, inverted, as the rows of its upper Cholesky factor (the successive OBS inverses).
at::Tensor inverse_cholesky_rows(at::Tensor h, double percdamp) {
  at::Tensor diag = h.diagonal();
  diag.add_(percdamp * diag.mean().item<double>());
  auto [l, info] = at::linalg_cholesky_ex(h);
  if (info.item<int64_t>() != 0)
    throw InputError(fmt::format("gptq: the Hessian plus damping is not positive definite (percdamp {}); raise percdamp "
                                 "(e.g. 0.1) or use more calibration windows",
                                 percdamp));
  auto [u, info2] = at::linalg_cholesky_ex(at::cholesky_inverse(l), /*upper=*/true);
  if (info2.item<int64_t>() != 0)
    throw InputError(fmt::format("gptq: the inverse Hessian is not positive definite (percdamp {}); raise percdamp", percdamp));
  return u;
}

// One solve: the lazy batches over the (permuted) columns of W.
class Solver {
 public:
  Solver(at::Tensor w, at::Tensor u, const GptqSolverOptions& o, std::vector<quant::QParams> static_groups,
         std::vector<int64_t> perm)
      : w_(std::move(w)), u_(std::move(u)), o_(o), static_groups_(std::move(static_groups)), perm_(std::move(perm)),
        cols_(w_.size(1)), group_(o.spec.group_size) {}

  // Quantizes every column; `per_channel` holds the parameters when there are no groups.
  at::Tensor run(const quant::QParams& per_channel) {
    qp_ = per_channel;
    at::Tensor q = at::zeros_like(w_);
    for (int64_t i1 = 0; i1 < cols_; i1 += o_.blocksize) {
      const int64_t i2 = std::min(i1 + o_.blocksize, cols_), count = i2 - i1;
      w1_ = w_.narrow(1, i1, count).clone();
      err1_ = at::zeros_like(w1_);
      at::Tensor q1 = at::zeros_like(w1_), losses = at::zeros_like(w1_);
      const at::Tensor hinv1 = u_.narrow(0, i1, count).narrow(1, i1, count);
      for (int64_t i = 0; i < count; ++i) {
        choose_params(i1, i, i2);
        const at::Tensor w = w1_.select(1, i), d = hinv1.select(0, i).select(0, i);
        const at::Tensor qc = quant::fake_quant_rows(w.unsqueeze(1), qp_, o_.spec).squeeze(1);
        q1.select(1, i).copy_(qc);
        const at::Tensor diff = w - qc;
        losses.select(1, i).copy_(diff * diff / (d * d));
        const at::Tensor err = diff / d;
        w1_.narrow(1, i, count - i).sub_(at::outer(err, hinv1.select(0, i).narrow(0, i, count - i)));
        err1_.select(1, i).copy_(err);
      }
      q.narrow(1, i1, count).copy_(q1);
      loss_ += (losses / 2).sum().item<double>();
      if (i2 < cols_) w_.narrow(1, i2, cols_ - i2).sub_(at::matmul(err1_, u_.narrow(0, i1, count).narrow(1, i2, cols_ - i2)));
    }
    return q;
  }

  const std::vector<quant::QParams>& dynamic_groups() const { return dynamic_; }
  double loss() const { return loss_; }

 private:
  // The quantizer for column i1 + i (a new group's parameters at its first column).
  void choose_params(int64_t i1, int64_t i, int64_t i2) {
    if (group_ <= 0) return;
    const int64_t c = i1 + i;
    if (!static_groups_.empty()) {
      const int64_t natural = perm_.empty() ? c : perm_[static_cast<size_t>(c)];
      qp_ = static_groups_[static_cast<size_t>(natural / group_)];
      return;
    }
    if (c % group_ != 0) return;
    qp_ = find_params(group_columns(i1, i, i2), o_);
    dynamic_.push_back(qp_);
  }

  // The columns of the group starting at column i1 + i, as the chosen GroupParams rule sees them.
  at::Tensor group_columns(int64_t i1, int64_t i, int64_t i2) const {
    const int64_t c = i1 + i, end = std::min(c + group_, cols_);
    if (o_.group_params == GroupParams::kBatchStart) return w_.narrow(1, c, end - c);
    const at::Tensor inside = w1_.narrow(1, i, std::min(end, i2) - c);
    if (end <= i2) return inside;
    // Columns past the batch: their pending updates from the batch's columns done so far.
    const at::Tensor pending = at::matmul(err1_.narrow(1, 0, i), u_.narrow(0, i1, i).narrow(1, i2, end - i2));
    return at::cat({inside, w_.narrow(1, i2, end - i2) - pending}, 1);
  }

  at::Tensor w_, u_, w1_, err1_;
  const GptqSolverOptions& o_;
  std::vector<quant::QParams> static_groups_, dynamic_;
  std::vector<int64_t> perm_;
  const int64_t cols_, group_;
  quant::QParams qp_;
  double loss_ = 0;
};

std::vector<int64_t> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU, at::kLong).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace

GptqSolution gptq_solve(const at::Tensor& weight, const at::Tensor& hessian, const GptqSolverOptions& o) {
  at::NoGradGuard no_grad;
  const int64_t cols = weight.size(1), group = o.spec.group_size;
  if (hessian.dim() != 2 || hessian.size(0) != cols || hessian.size(1) != cols)
    throw std::invalid_argument(fmt::format("gptq_solve: a {}-D Hessian of {} rows for a weight with {} columns", hessian.dim(),
                                             hessian.dim() > 0 ? hessian.size(0) : 0, cols));
  if (o.blocksize < 1) throw InputError(fmt::format("gptq: blocksize {} (expected >= 1)", o.blocksize));
  at::Tensor w = weight.to(hessian.device(), hessian.scalar_type()).clone(), h = hessian.clone();
  GptqSolution s;
  const quant::QParams per_channel = group > 0 ? quant::QParams{} : find_params(w, o);  // before dead columns, as fasterquant
  const at::Tensor dead = h.diagonal().eq(0);
  s.dead_columns = dead.sum().item<int64_t>();
  h.diagonal().masked_fill_(dead, 1.0);
  w.masked_fill_(dead.unsqueeze(0), 0.0);
  std::vector<quant::QParams> static_groups;
  if (group > 0 && o.static_groups)
    for (int64_t g = 0; g < cols; g += group) static_groups.push_back(find_params(w.narrow(1, g, std::min(group, cols - g)), o));
  at::Tensor perm;
  if (o.act_order) {
    // torch.argsort(descending) in the reference; a stable sort here so that ties (dead columns) order the same everywhere.
    perm = std::get<1>(at::sort(h.diagonal(), /*stable=*/true, /*dim=*/0, /*descending=*/true));
    w = w.index_select(1, perm);
    h = h.index_select(0, perm).index_select(1, perm);
  }
  Solver solver(w, inverse_cholesky_rows(h, o.percdamp), o, static_groups, perm.defined() ? to_vector(perm) : std::vector<int64_t>{});
  at::Tensor q = solver.run(per_channel);
  if (perm.defined()) q = q.index_select(1, at::argsort(perm));
  s.weight = q.to(weight.device(), weight.scalar_type());
  s.loss = solver.loss();
  // The groups' parameters and each column's group.
  const std::vector<quant::QParams>& groups =
      group <= 0 ? std::vector<quant::QParams>{per_channel} : (o.static_groups ? static_groups : solver.dynamic_groups());
  std::vector<at::Tensor> scales, zeros;
  for (const auto& g : groups) {
    scales.push_back(g.scale.reshape({-1, 1}));
    zeros.push_back(g.zero.reshape({-1, 1}));
  }
  s.scale = at::cat(scales, 1).to(weight.device(), at::kFloat);
  s.zero = at::cat(zeros, 1).to(weight.device(), at::kFloat);
  at::Tensor natural_group = group > 0 ? at::arange(cols, at::kLong).div(group, "floor") : at::zeros({cols}, at::kLong);
  if (perm.defined() && group > 0 && !o.static_groups) {
    // Quantization order k puts the column perm[k] into group k / groupsize.
    natural_group = at::empty({cols}, at::kLong).scatter_(0, perm.to(at::kCPU), natural_group);
  }
  s.g_idx = natural_group.to(at::kInt).to(weight.device());
  return s;
}

}  // namespace ptq::methods
