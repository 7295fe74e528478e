#include "tests/support/naive_tensor_block.h"

#include <ATen/ATen.h>

#include <cmath>

namespace ptq::test {

at::Tensor naive_rms(const at::Tensor& x, const at::Tensor& w, double eps) {
  return x * at::rsqrt(x.pow(2).mean(-1, true) + eps) * w.to(at::kDouble);
}

at::Tensor naive_rope(const at::Tensor& x, double theta) {
  const int64_t t = x.size(0), d = x.size(2), half = d / 2;
  at::Tensor out = at::empty_like(x);
  for (int64_t p = 0; p < t; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double a = p * std::pow(theta, -2.0 * i / d), c = std::cos(a), s = std::sin(a);
      const at::Tensor x1 = x[p].select(1, i), x2 = x[p].select(1, i + half);
      out[p].select(1, i).copy_(x1 * c - x2 * s);
      out[p].select(1, i + half).copy_(x2 * c + x1 * s);
    }
  return out;
}

at::Tensor naive_context(const LlamaConfig& c, const at::Tensor& n1, const at::Tensor& wq, const at::Tensor& wk,
                         const at::Tensor& wv) {
  const int64_t t = n1.size(0), nh = c.num_attention_heads, nkv = c.num_key_value_heads, hd = c.head_dim;
  const auto proj = [&](const at::Tensor& w, int64_t heads) { return at::matmul(n1, w.to(at::kDouble).t()).view({t, heads, hd}); };
  const at::Tensor q = naive_rope(proj(wq, nh), c.rope_theta), k = naive_rope(proj(wk, nkv), c.rope_theta), v = proj(wv, nkv);
  at::Tensor out = at::zeros({t, nh, hd}, at::kDouble);
  for (int64_t h = 0; h < nh; ++h) {
    const int64_t g = h / (nh / nkv);
    at::Tensor s = at::matmul(q.select(1, h), k.select(1, g).t()) / std::sqrt(static_cast<double>(hd));
    s = s + at::full({t, t}, -INFINITY, at::kDouble).triu(1);
    out.select(1, h).copy_(at::matmul(at::softmax(s, -1), v.select(1, g)));
  }
  return out.view({t, nh * hd});
}

}  // namespace ptq::test
