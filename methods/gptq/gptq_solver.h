// GPTQ's per-layer solver (Frantar et al., ICLR 2023; IST-DASLab/gptq gptq.py `GPTQ.add_batch` and
// `GPTQ.fasterquant`), a pure function of one weight and its Hessian so that it can be checked against a
// naive column-by-column OBS reference:
//
//   H     = 2/N sum_x x x^T over the N calibration sequences (float32, a running mean as add_batch)
//   dead  = columns with H_jj = 0: H_jj := 1, W[:, j] := 0
//   perm  = argsort(diag(H), descending)               (act_order; otherwise the identity)
//   H    += percdamp * mean(diag(H)) * I
//   U     = cholesky(cholesky_inverse(cholesky(H)), upper)   (the rows of the successive inverses)
//   for each lazy batch [i1, i2) of `blocksize` columns, for each column j in it:
//       (group start) the quantizer's scale/zero from the group's columns
//       q_j = Q(w_j);   err_j = (w_j - q_j) / U_jj;   W[:, j:i2] -= err_j U[j, j:i2]
//   and after the batch W[:, i2:] -= Err U[i1:i2, i2:]
//
// The one place where the reference is not what the paper's algorithm reads: a group's parameters come
// from `W[:, g:g + groupsize]` as it stood when the lazy batch began - for a group that starts inside a
// batch (groupsize < blocksize, e.g. g64 with blocksize 128) the columns do not yet carry the updates of
// the batch's earlier columns. GroupParams::kBatchStart reproduces that (the default); kUpdated takes
// the fully updated columns (Algorithm 1 as written). With groupsize a multiple of blocksize they agree.
#pragma once

#include "harness/quant/uniform_quantizer.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ptq::methods {

// Where a group's quantizer parameters come from (see above).
enum class GroupParams { kBatchStart, kUpdated };

struct GptqSolverOptions {
  quant::QuantizerSpec spec;  // bits, symmetric, group_size (0 = per output channel)
  // The quantizer's range: true = GPTQ's quant.py find_params (range stretched to contain 0, an all-zero
  // row gets [-1, 1], no scale clamp; symmetric: zero point (2^N)/2); false = ptqbench's min/max quantizer
  // (OmniQuant's, the RTN rows).
  bool gptq_range = true;
  int64_t blocksize = 128;
  double percdamp = 0.01;
  bool act_order = false;
  bool static_groups = false;  // every group's parameters from the (dead-zeroed) weight before any update
  GroupParams group_params = GroupParams::kBatchStart;
};

struct GptqSolution {
  at::Tensor weight;  // fake-quantized, in the input weight's dtype
  at::Tensor scale, zero;  // [out, groups] in quantization order ([out, 1] per channel)
  at::Tensor g_idx;        // [in] int32: the group of each input column (act_order permutes them)
  double loss = 0;         // sum over columns of (w - q)^2 / U_jj^2 / 2, as the reference prints
  int64_t dead_columns = 0;
};

// Accumulates H over batches of inputs as add_batch does: each call adds `x` ([sequences, T, in] or
// [T, in] = one sequence) and keeps H = 2/N sum x x^T over the N sequences seen, in float32 (or in x's
// dtype when it is float64: the tests' double-precision path).
class HessianAccumulator {
 public:
  explicit HessianAccumulator(int64_t columns, at::Device device, bool float64 = false);
  void add(const at::Tensor& x);
  const at::Tensor& hessian() const { return h_; }
  int64_t sequences() const { return n_; }

 private:
  at::Tensor h_;
  int64_t n_ = 0;
};

// Runs the solver on `weight` ([out, in]) with Hessian `hessian` ([in, in], not modified). Computes in the
// Hessian's dtype (float32 as the reference; float64 in the tests). InputError when H + damp is not
// positive definite (naming what to raise: percdamp).
GptqSolution gptq_solve(const at::Tensor& weight, const at::Tensor& hessian, const GptqSolverOptions& options);

}  // namespace ptq::methods
