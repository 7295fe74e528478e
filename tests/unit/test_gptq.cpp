// GPTQ against a naive reference written here in double precision: the column-by-column OBS procedure of
// the GPTQ paper (Frantar et al. 2023, eqs. 2-3) with an explicit inverse Hessian downdated after every
// column - no Cholesky rows, no lazy batches - and the quantizer of the reference's quant.py written out
// element by element. The solver (methods/gptq/gptq_solver.h) must give the same weights, on small layers
// with dead columns, per channel and in groups, with act_order, static groups and both group-parameter
// rules; then the method end to end through the engine on a small random model.
#include "harness/pipeline/quantize.h"
#include "harness/recon/linear_inputs.h"
#include "harness/util/errors.h"
#include "methods/gptq/gptq_solver.h"
#include "methods/register_all.h"
#include "tests/support/apply_method.h"
#include "tests/support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

using Catch::Matchers::Contains;
using ptq::methods::GptqSolverOptions;
using ptq::methods::GroupParams;

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix to_matrix(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  Matrix m(static_cast<size_t>(c.size(0)), std::vector<double>(static_cast<size_t>(c.size(1))));
  for (int64_t i = 0; i < c.size(0); ++i)
    for (int64_t j = 0; j < c.size(1); ++j) m[i][j] = c[i][j].item<double>();
  return m;
}

at::Tensor to_tensor(const Matrix& m) {
  at::Tensor t = at::empty({static_cast<int64_t>(m.size()), static_cast<int64_t>(m[0].size())}, at::kDouble);
  for (size_t i = 0; i < m.size(); ++i)
    for (size_t j = 0; j < m[0].size(); ++j) t[i][j] = m[i][j];
  return t;
}

struct RowParams {
  double scale, zero;
};

// quant.py Quantizer.find_params for one row's values (asymmetric or symmetric, range containing 0).
RowParams naive_params(const std::vector<double>& v, int bits, bool sym) {
  const double maxq = std::pow(2.0, bits) - 1;
  double lo = std::min(0.0, *std::min_element(v.begin(), v.end())), hi = std::max(0.0, *std::max_element(v.begin(), v.end()));
  if (sym) {
    hi = std::max(std::fabs(lo), hi);
    if (lo < 0) lo = -hi;
  }
  if (lo == 0 && hi == 0) lo = -1, hi = 1;
  const double scale = (hi - lo) / maxq;
  return {scale, sym ? (maxq + 1) / 2 : std::nearbyint(-lo / scale)};
}

double naive_quant(double x, RowParams p, int bits) {
  const double maxq = std::pow(2.0, bits) - 1;
  return (std::clamp(std::nearbyint(x / p.scale) + p.zero, 0.0, maxq) - p.zero) * p.scale;
}

// Each row's parameters over columns [c0, c1) of w.
std::vector<RowParams> naive_group_params(const Matrix& w, size_t c0, size_t c1, int bits, bool sym) {
  std::vector<RowParams> out;
  for (const auto& row : w) out.push_back(naive_params(std::vector<double>(row.begin() + c0, row.begin() + c1), bits, sym));
  return out;
}

struct NaiveOptions {
  int bits = 3;
  bool sym = false;
  size_t group = 0, blocksize = 128;
  bool act_order = false, static_groups = false, batch_start = true;
  double percdamp = 0.01;
};

// The GPTQ procedure column by column: OBS update with the current inverse, then the inverse downdated.
at::Tensor naive_gptq(const at::Tensor& weight, const at::Tensor& hessian, const NaiveOptions& o) {
  Matrix w = to_matrix(weight), h = to_matrix(hessian);
  const size_t rows = w.size(), cols = w[0].size();
  const std::vector<RowParams> per_channel = naive_group_params(w, 0, cols, o.bits, o.sym);  // before dead columns
  for (size_t j = 0; j < cols; ++j)
    if (h[j][j] == 0) {
      h[j][j] = 1;
      for (auto& row : w) row[j] = 0;
    }
  std::vector<std::vector<RowParams>> statics;
  if (o.group > 0 && o.static_groups)
    for (size_t g = 0; g < cols; g += o.group) statics.push_back(naive_group_params(w, g, std::min(cols, g + o.group), o.bits, o.sym));
  std::vector<size_t> order(cols);
  std::iota(order.begin(), order.end(), 0);
  if (o.act_order) std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return h[a][a] > h[b][b]; });
  Matrix wp(rows, std::vector<double>(cols)), hp(cols, std::vector<double>(cols));
  for (size_t j = 0; j < cols; ++j) {
    for (size_t r = 0; r < rows; ++r) wp[r][j] = w[r][order[j]];
    for (size_t k = 0; k < cols; ++k) hp[j][k] = h[order[j]][order[k]];
  }
  double mean_diag = 0;
  for (size_t j = 0; j < cols; ++j) mean_diag += hp[j][j] / static_cast<double>(cols);
  for (size_t j = 0; j < cols; ++j) hp[j][j] += o.percdamp * mean_diag;
  Matrix hinv = to_matrix(at::linalg_inv(to_tensor(hp)));
  Matrix q(rows, std::vector<double>(cols, 0.0)), snapshot = wp;
  std::vector<RowParams> params = per_channel;
  for (size_t j = 0; j < cols; ++j) {
    if (j % o.blocksize == 0) snapshot = wp;  // the reference reads a group's columns as its lazy batch began
    if (o.group > 0 && o.static_groups) params = statics[order[j] / o.group];
    if (o.group > 0 && !o.static_groups && j % o.group == 0)
      params = naive_group_params(o.batch_start ? snapshot : wp, j, std::min(cols, j + o.group), o.bits, o.sym);
    const double d = hinv[j][j];
    for (size_t r = 0; r < rows; ++r) {
      q[r][j] = naive_quant(wp[r][j], params[r], o.bits);
      const double err = (wp[r][j] - q[r][j]) / d;
      for (size_t k = j + 1; k < cols; ++k) wp[r][k] -= err * hinv[j][k];
    }
    const Matrix before = hinv;  // remove column j from the inverse: H^-1 - H^-1[:, j] H^-1[j, :] / H^-1[j, j]
    for (size_t a = 0; a < cols; ++a)
      for (size_t b = 0; b < cols; ++b) hinv[a][b] = before[a][b] - before[a][j] * before[j][b] / d;
  }
  Matrix out(rows, std::vector<double>(cols));
  for (size_t j = 0; j < cols; ++j)
    for (size_t r = 0; r < rows; ++r) out[r][order[j]] = q[r][j];
  return to_tensor(out);
}

struct Layer {
  at::Tensor weight, hessian;  // double
};

// A layer with `dead` input columns that never fire (their Hessian diagonal is 0) and uneven column scales
// (so that act_order reorders).
Layer random_layer(int64_t out, int64_t in, int64_t dead, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor x = at::randn({256, in}, at::kDouble) * at::linspace(0.2, 3.0, in, at::kDouble).index_select(0, at::randperm(in));
  for (int64_t j = 0; j < dead; ++j) x.select(1, 3 * j + 1).zero_();
  return {at::randn({out, in}, at::kDouble) * 0.1, 2.0 / 256 * at::matmul(x.t(), x)};
}

GptqSolverOptions solver_options(const NaiveOptions& n) {
  GptqSolverOptions o;
  o.spec.bits = n.bits;
  o.spec.symmetric = n.sym;
  o.spec.group_size = static_cast<int64_t>(n.group);
  o.blocksize = static_cast<int64_t>(n.blocksize);
  o.act_order = n.act_order;
  o.static_groups = n.static_groups;
  o.group_params = n.batch_start ? GroupParams::kBatchStart : GroupParams::kUpdated;
  o.percdamp = n.percdamp;
  return o;
}

void check_against_naive(const Layer& l, const NaiveOptions& n) {
  const ptq::methods::GptqSolution s = ptq::methods::gptq_solve(l.weight, l.hessian, solver_options(n));
  const at::Tensor want = naive_gptq(l.weight, l.hessian, n);
  CHECK(s.weight.scalar_type() == at::kDouble);
  CHECK((s.weight - want).abs().max().item<double>() < 1e-9);
}

}  // namespace

TEST_CASE("GPTQ's solver equals column-by-column OBS in double precision", "[unit][gptq]") {
  const Layer l = random_layer(6, 40, 3, 1);
  NaiveOptions n;
  n.blocksize = 16;  // several lazy batches over 40 columns, the last one partial
  SECTION("per channel") { check_against_naive(l, n); }
  SECTION("per channel, act_order") {
    n.act_order = true;
    check_against_naive(l, n);
  }
  SECTION("symmetric, act_order") {
    n.sym = true;
    n.act_order = true;
    check_against_naive(l, n);
  }
  SECTION("groups of 8 inside lazy batches of 16, both group-parameter rules") {
    n.group = 8;
    check_against_naive(l, n);
    n.batch_start = false;
    check_against_naive(l, n);
  }
  SECTION("groups of 10 that straddle lazy batches (updated columns include pending updates)") {
    n.group = 10;
    n.batch_start = false;
    check_against_naive(l, n);
    n.batch_start = true;
    check_against_naive(l, n);
  }
  SECTION("act_order with dynamic groups, and with static groups") {
    n.group = 8;
    n.act_order = true;
    check_against_naive(l, n);
    n.static_groups = true;
    check_against_naive(l, n);
  }
  SECTION("4-bit, more damping") {
    n.bits = 4;
    n.percdamp = 0.1;
    n.group = 16;
    check_against_naive(l, n);
  }
}

TEST_CASE("GPTQ's solver: the lazy-batch group rule, g_idx, scales, dead columns and the float path", "[unit][gptq]") {
  const Layer l = random_layer(6, 32, 2, 2);
  NaiveOptions n;
  n.blocksize = 16;
  n.group = 8;
  GptqSolverOptions o = solver_options(n);
  const auto batch_start = ptq::methods::gptq_solve(l.weight, l.hessian, o);
  o.group_params = GroupParams::kUpdated;
  const auto updated = ptq::methods::gptq_solve(l.weight, l.hessian, o);
  CHECK_FALSE(at::allclose(batch_start.weight, updated.weight));  // g8 inside batches of 16: the rule matters
  o.spec.group_size = 16;
  const auto a = ptq::methods::gptq_solve(l.weight, l.hessian, o);
  o.group_params = GroupParams::kBatchStart;
  CHECK(at::equal(a.weight, ptq::methods::gptq_solve(l.weight, l.hessian, o).weight));  // groups = batches: the same
  CHECK(batch_start.dead_columns == 2);
  CHECK(batch_start.weight.select(1, 1).abs().max().item<double>() == 0);  // a dead column is quantized from 0
  CHECK(batch_start.scale.sizes() == at::IntArrayRef({6, 4}));

  // act_order with dynamic groups: column c lies in group g_idx[c] and on that group's grid.
  o = solver_options(n);
  o.act_order = true;
  const auto s = ptq::methods::gptq_solve(l.weight, l.hessian, o);
  const at::Tensor g = s.g_idx.to(at::kLong);
  CHECK(at::bincount(g).eq(8).all().item<bool>());
  CHECK_FALSE(at::equal(g, at::arange(32, at::kLong).div(8, "floor")));
  const at::Tensor scale = s.scale.to(at::kDouble).index_select(1, g), zero = s.zero.to(at::kDouble).index_select(1, g);
  const at::Tensor code = s.weight / scale + zero;
  CHECK((code - code.round()).abs().max().item<double>() < 1e-5);  // scales are stored in float32
  CHECK(code.min().item<double>() > -1e-5);
  CHECK(code.max().item<double>() < 7 + 1e-5);

  // float32 (the reference's precision): the same solution up to a few rounding flips.
  const auto f = ptq::methods::gptq_solve(l.weight.to(at::kFloat), l.hessian.to(at::kFloat), o);
  CHECK(f.weight.scalar_type() == at::kFloat);
  const double flipped = (f.weight.to(at::kDouble) - s.weight).abs().gt(1e-4).to(at::kDouble).mean().item<double>();
  CHECK(flipped < 0.02);
  // A Hessian that damping cannot make positive definite is bad input, named.
  CHECK_THROWS_WITH(ptq::methods::gptq_solve(l.weight, -l.hessian - at::eye(32, at::kDouble), o), Contains("percdamp"));
}

TEST_CASE("GPTQ's Hessian is 2/N sum x x^T over the N sequences, accumulated as the reference", "[unit][gptq]") {
  at::manual_seed(3);
  const at::Tensor a = at::randn({5, 7}, at::kDouble), b = at::randn({2, 5, 7}, at::kDouble);
  ptq::methods::HessianAccumulator acc(7, at::kCPU, /*float64=*/true);
  acc.add(a);
  acc.add(b);
  const at::Tensor x = at::cat({a, b.reshape({-1, 7})}, 0);
  CHECK(acc.sequences() == 3);
  CHECK(at::allclose(acc.hessian(), 2.0 / 3.0 * at::matmul(x.t(), x), 1e-12, 1e-12));
}

TEST_CASE("GPTQ end to end: true-sequential Hessians on the quantized path, better than RTN", "[unit][gptq]") {
  const ptq::LlamaConfig c = ptq::test::tiny_config();
  const ptq::LlamaModel fp = ptq::test::random_model(c, 93);
  at::manual_seed(7);
  const at::Tensor calib = ptq::test::calibration_ids(8, 24, c.vocab_size);
  const at::Tensor ids = ptq::test::calibration_ids(4, 24, c.vocab_size);
  const at::Tensor target = ptq::test::last_hidden(fp, ids);
  const auto error = [&](const ptq::LlamaModel& m) { return (ptq::test::last_hidden(m, ids) - target).pow(2).mean().item<double>(); };
  for (const std::string setting : {"W3A16", "W4A16g16"}) {
    INFO(setting);
    ptq::LlamaModel g = ptq::test::copy_model(fp), r = ptq::test::copy_model(fp);
    ptq::test::apply_method(g, "gptq", setting, nlohmann::json::object(), calib);
    ptq::test::apply_method(r, "rtn", setting, nlohmann::json::object(), at::Tensor());
    CHECK(error(g) < 0.9 * error(r));  // held-out tokens of a random model: ~12-16% less error
  }

  // Block 0's o_proj: GPTQ of its FP weight on the Hessian of the inputs the QUANTIZED q/k/v produce.
  ptq::LlamaModel g = ptq::test::copy_model(fp);
  const auto report = ptq::test::apply_method(g, "gptq", "W3A16", {{"act_order", false}}, calib);
  ptq::DecoderBlock mixed = fp.block(0);
  mixed.q_proj.weight = g.block(0).q_proj.weight;
  mixed.k_proj.weight = g.block(0).k_proj.weight;
  mixed.v_proj.weight = g.block(0).v_proj.weight;
  const at::Tensor x = at::embedding(fp.embed_tokens, calib);
  ptq::methods::HessianAccumulator acc(c.num_attention_heads * c.head_dim, at::kCPU);
  for (int64_t j = 0; j < x.size(0); ++j)
    acc.add(ptq::recon::linear_group_inputs(mixed, c, ptq::recon::LinearGroup::kOut, x.narrow(0, j, 1), fp.rope(24), nullptr, 1));
  GptqSolverOptions o;
  o.spec = ptq::quant::QuantSetting::parse("W3A16").weight_spec();
  const auto want = ptq::methods::gptq_solve(fp.block(0).o_proj.weight, acc.hessian(), o);
  CHECK(at::allclose(g.block(0).o_proj.weight, want.weight, 1e-5, 1e-6));
  CHECK(report.summary.at("blocks").size() == fp.num_blocks());

  // The paper's original GPTQ (no act_order, no true-sequential) runs and differs; bad input is refused.
  ptq::LlamaModel plain = ptq::test::copy_model(fp);
  ptq::test::apply_method(plain, "gptq", "W3A16", {{"act_order", false}, {"true_sequential", false}}, calib);
  CHECK_FALSE(at::allclose(plain.block(0).o_proj.weight, g.block(0).o_proj.weight));
  ptq::LlamaModel bad = ptq::test::copy_model(fp);
  CHECK_THROWS_WITH(ptq::test::apply_method(bad, "gptq", "W16A16", nlohmann::json::object(), calib), Contains("nothing to quantize"));
  const auto& m = ptq::methods::registry().get("gptq");
  CHECK_THROWS_WITH(m.resolve_config({{"percdamp", 0}}), Contains("percdamp 0"));
  CHECK_THROWS_WITH(m.resolve_config({{"range", "mse"}}), Contains("expected one of: gptq, minmax"));
}
