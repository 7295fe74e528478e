// model/attention_core.h: the heads-side-by-side attention must give exactly the bits of the batched ops it
// replaced (bmm, division by sqrt(hd), causal mask, softmax, bmm, and autograd's backward of them), in the
// output and in all three gradients, for any number of workers; and it must be attention: against a naive
// double-precision loop written here.
#include "harness/model/attention_core.h"

#include "harness/util/tiled_gemm.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace {

// The batched path as llama_model.cpp wrote it before the attention core (and as the reference's eager
// attention does): one bmm over all heads, an in-place true division, the mask, softmax, bmm. The heads
// were taken as a chunk (narrow), whose backward hands the gradients on as fresh contiguous tensors.
at::Tensor batched_attention(const at::Tensor& q_all, const at::Tensor& k_all, const at::Tensor& v_all, double sqrt_hd) {
  const int64_t n = q_all.size(0), t = q_all.size(1);
  const at::Tensor q = q_all.narrow(0, 0, n), k = k_all.narrow(0, 0, n), v = v_all.narrow(0, 0, n);
  const at::Tensor mask = at::full({t, t}, -std::numeric_limits<double>::infinity(), q.options()).triu(1);
  const at::Tensor scores = at::bmm(q, k.transpose(1, 2)).div_(sqrt_hd).add_(mask);
  return at::bmm(at::softmax(scores, -1, at::kFloat), v);
}

struct Grads {
  at::Tensor out, dq, dk, dv;
};

template <typename F>
Grads run_with_grads(F attention, const at::Tensor& q0, const at::Tensor& k0, const at::Tensor& v0, const at::Tensor& g) {
  const at::Tensor q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true), v = v0.clone().requires_grad_(true);
  const at::Tensor out = attention(q, k, v);
  out.backward(g);
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

// Restores serial tasks (the pool's default outside reproducible mode) however a test ends.
struct Workers {
  explicit Workers(int n) { ptq::gemm::set_tiled(n > 1, n); }
  ~Workers() { ptq::gemm::set_tiled(false, 1); }
};

}  // namespace

TEST_CASE("attention core: output and gradients bit for bit those of the batched ops, 1 and 2 workers", "[attention]") {
  at::manual_seed(7);
  // 512 tokens: the score products are wider than one GEMM tile (util/tiled_gemm.h), as in the side-by-side job.
  for (const int64_t t : {67, 512}) {
    const int64_t n = 6, hd = 8;
    const at::Tensor q = at::randn({n, t, hd}), k = at::randn({n, t, hd}), v = at::randn({n, t, hd});
    const at::Tensor g = at::randn({n, t, hd});
    const double sqrt_hd = std::sqrt(static_cast<double>(hd));
    const Grads want = run_with_grads([&](auto& a, auto& b, auto& c) { return batched_attention(a, b, c, sqrt_hd); }, q, k, v, g);
    for (const int workers : {1, 2}) {
      const Workers pool(workers);
      INFO("t " << t << ", workers " << workers);
      const Grads got = run_with_grads([&](auto& a, auto& b, auto& c) { return ptq::causal_attention_core(a, b, c, sqrt_hd); }, q, k, v, g);
      CHECK(at::equal(got.out, want.out));
      CHECK(at::equal(got.dq, want.dq));
      CHECK(at::equal(got.dk, want.dk));
      CHECK(at::equal(got.dv, want.dv));
      const at::NoGradGuard no_grad;  // the inference path (no graph) gives the same output
      CHECK(at::equal(ptq::causal_attention_core(q, k, v, sqrt_hd), want.out));
    }
  }
}

TEST_CASE("attention core: gradients reach a reduction upstream in the batched path's memory order", "[attention]") {
  // LET's q/k scale multiplies q and divides k by one factor per channel; its gradient sums over all
  // heads and tokens, in the memory order of the gradients that arrive. A transposed dk (the first
  // version of the core) summed in another order: the quickstart's OmniQuant W4A4 cell (LWC + LET)
  // moved from 4.7362712533 to 4.7358480683.
  at::manual_seed(11);
  const int64_t n = 8, t = 512, hd = 8;
  const at::Tensor q0 = at::randn({n, t, hd}), k0 = at::randn({n, t, hd}), v = at::randn({n, t, hd});
  const at::Tensor g = at::randn({n, t, hd});
  const double sqrt_hd = std::sqrt(static_cast<double>(hd));
  const auto scale_grad = [&](const auto& attention) {
    const at::Tensor s = (at::rand({hd}) + 0.5).requires_grad_(true);
    at::manual_seed(5);
    const at::Tensor s0 = (at::rand({hd}) + 0.5);
    at::NoGradGuard none;
    s.copy_(s0);
    {
      c10::AutoGradMode on(true);
      attention(q0 * s, k0 / s).backward(g);
    }
    return s.grad().clone();
  };
  const at::Tensor want = scale_grad([&](const at::Tensor& q, const at::Tensor& k) { return batched_attention(q, k, v, sqrt_hd); });
  for (const int workers : {1, 2}) {
    const Workers pool(workers);
    INFO("workers " << workers);
    CHECK(at::equal(scale_grad([&](const at::Tensor& q, const at::Tensor& k) { return ptq::causal_attention_core(q, k, v, sqrt_hd); }), want));
  }
}

TEST_CASE("attention core: causal softmax attention against a naive double loop", "[attention]") {
  at::manual_seed(3);
  const int64_t n = 2, t = 9, hd = 4;
  const at::Tensor q = at::randn({n, t, hd}), k = at::randn({n, t, hd}), v = at::randn({n, t, hd});
  const at::Tensor got = ptq::causal_attention_core(q, k, v, 2.0);
  const auto qa = q.accessor<float, 3>(), ka = k.accessor<float, 3>(), va = v.accessor<float, 3>();
  const auto ga = got.accessor<float, 3>();
  for (int64_t h = 0; h < n; ++h)
    for (int64_t i = 0; i < t; ++i) {
      std::vector<double> w(static_cast<size_t>(i + 1));
      double max = -1e300, sum = 0;
      for (int64_t j = 0; j <= i; ++j) {
        double s = 0;
        for (int64_t d = 0; d < hd; ++d) s += static_cast<double>(qa[h][i][d]) * ka[h][j][d];
        w[static_cast<size_t>(j)] = s / 2.0;
        max = std::max(max, s / 2.0);
      }
      for (double& x : w) sum += (x = std::exp(x - max));
      for (int64_t d = 0; d < hd; ++d) {
        double o = 0;
        for (int64_t j = 0; j <= i; ++j) o += w[static_cast<size_t>(j)] / sum * va[h][j][d];
        CHECK(ga[h][i][d] == Approx(o).epsilon(1e-5).margin(1e-6));
      }
    }
}

TEST_CASE("attention core: under inference mode, with workers", "[attention]") {
  // Evaluation runs in InferenceMode; the workers must run in it too (an in-place write to an inference
  // tensor outside it throws), and an error in a worker must come back as an exception, not a crash.
  const Workers pool(2);
  const c10::InferenceMode inference;
  const at::Tensor q = at::randn({4, 300, 8}), k = at::randn({4, 300, 8}), v = at::randn({4, 300, 8});
  const at::Tensor out = ptq::causal_attention_core(q, k, v, std::sqrt(8.0));
  CHECK(at::equal(out, batched_attention(q, k, v, std::sqrt(8.0))));
  CHECK_THROWS(ptq::causal_attention_core(q, k.narrow(2, 0, 4), v, 2.0));  // q k^T of mismatched widths
}
