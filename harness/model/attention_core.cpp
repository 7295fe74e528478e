#include "harness/model/attention_core.h"

#include "harness/util/parallel_tasks.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <functional>
#include <limits>

namespace ptq {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Runs head(0..n-1) side by side (util/parallel_tasks.h), each with autograd off: values, not graphs.
void for_each_head(int64_t n, const std::function<void(int64_t)>& head) {
  run_tasks(n, [&](int64_t h) {
    const at::NoGradGuard no_grad;
    head(h);
  });
}

at::Tensor causal_mask(int64_t t, const at::TensorOptions& options) {
  return at::full({t, t}, -std::numeric_limits<double>::infinity(), options).triu(1);
}

// One head's forward: the scores as the batched path computes them (GEMM, then a true division by
// sqrt(hd), then the mask), the probabilities into `p` (when defined) and the context into `out`.
void head_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask, double sqrt_hd,
                  at::Tensor p, at::Tensor out) {
  at::Tensor scores = at::mm(q, k.t());
  scores.div_(sqrt_hd).add_(mask);
  if (!p.defined()) p = at::empty_like(scores);
  at::_softmax_out(p, scores, -1, /*half_to_float=*/false);
  at::mm_out(out, p, v);
}

// Autograd's backward of head_forward, op for op: BmmBackward's two GEMMs for p v, the softmax
// backward kernel, DivBackward's division (the mask's add passes the gradient through), BmmBackward's
// two GEMMs for q k^T. dk is written as the transpose the batched path produces (q^T dS).
void head_backward(const at::Tensor& g, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& p,
                   double sqrt_hd, at::Tensor dq, at::Tensor dk_t, at::Tensor dv) {
  const at::Tensor dp = at::mm(g, v.t());
  at::mm_out(dv, p.t(), g);
  at::Tensor ds = at::_softmax_backward_data(dp, p, -1, at::kFloat);
  ds.div_(sqrt_hd);
  at::mm_out(dq, ds, k);
  at::mm_out(dk_t, q.t(), ds);
}

struct CausalAttention : public torch::autograd::Function<CausalAttention> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            double sqrt_hd) {
    const int64_t n = q.size(0), t = q.size(1);
    const at::Tensor mask = causal_mask(t, q.options());
    at::Tensor out = at::empty(q.sizes(), q.options());
    at::Tensor p = at::empty({n, t, t}, q.options());
    for_each_head(n, [&](int64_t h) {
      head_forward(q[h], k[h], v[h], mask, sqrt_hd, p[h], out[h]);
    });
    ctx->save_for_backward({q, k, v, p});
    ctx->saved_data["sqrt_hd"] = sqrt_hd;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &p = saved[3];
    const double sqrt_hd = ctx->saved_data["sqrt_hd"].toDouble();
    const at::Tensor g = grads[0];
    const int64_t n = q.size(0), t = q.size(1), hd = q.size(2);
    at::Tensor dq = at::empty_like(q, at::MemoryFormat::Contiguous), dv = at::empty_like(v, at::MemoryFormat::Contiguous);
    at::Tensor dk_t = at::empty({n, hd, t}, k.options());
    for_each_head(n, [&](int64_t h) {
      head_backward(g[h], q[h], k[h], v[h], p[h], sqrt_hd, dq[h], dk_t[h], dv[h]);
    });
    // Contiguous, as the batched path hands its gradients on (its head narrowing's backward writes them
    // into a fresh tensor): a transposed view would reach the reductions upstream (LET's q/k scale, the
    // K quantizer) in another memory order, and they would sum in another order.
    return {dq, dk_t.transpose(1, 2).contiguous(), dv, at::Tensor()};
  }
};

}  // namespace

bool attention_core_supported(const at::Tensor& q) { return q.is_cpu() && q.scalar_type() == at::kFloat; }

at::Tensor causal_attention_core(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double sqrt_hd) {
  const bool grad = c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (grad) return CausalAttention::apply(q, k, v, sqrt_hd);
  const at::Tensor mask = causal_mask(q.size(1), q.options());
  at::Tensor out = at::empty(q.sizes(), q.options());
  for_each_head(q.size(0), [&](int64_t h) {
    head_forward(q[h], k[h], v[h], mask, sqrt_hd, at::Tensor(), out[h]);
  });
  return out;
}

}  // namespace ptq
