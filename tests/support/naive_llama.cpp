#include "support/naive_llama.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>

namespace ptq::test {

namespace {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;  // row-major [out][in]

Mat to_mat(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous().cpu();
  const auto* p = c.data_ptr<double>();
  Mat m(c.size(0), Vec(c.size(1)));
  for (int64_t i = 0; i < c.size(0); ++i)
    for (int64_t j = 0; j < c.size(1); ++j) m[i][j] = p[i * c.size(1) + j];
  return m;
}

Vec to_vec(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous().cpu();
  return Vec(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

Vec matvec(const Mat& w, const Vec& x) {
  Vec y(w.size(), 0.0);
  for (size_t i = 0; i < w.size(); ++i)
    for (size_t j = 0; j < x.size(); ++j) y[i] += w[i][j] * x[j];
  return y;
}

Vec rmsnorm(const Vec& x, const Vec& g, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / x.size() + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = g[i] * x[i] * inv;
  return y;
}

// Rotate-half RoPE on one head vector: pairs (i, i + d/2) rotate by pos * theta^(-2i/d).
void rope(double* v, int64_t d, int64_t pos, double theta) {
  for (int64_t i = 0; i < d / 2; ++i) {
    const double angle = pos * std::pow(theta, -2.0 * i / d);
    const double a = v[i], b = v[i + d / 2];
    v[i] = a * std::cos(angle) - b * std::sin(angle);
    v[i + d / 2] = b * std::cos(angle) + a * std::sin(angle);
  }
}

struct NaiveBlock {
  Vec attn_norm, mlp_norm;
  Mat q, k, v, o, gate, up, down;
};

}  // namespace

std::vector<std::vector<double>> naive_logits(const LlamaModel& model, const std::vector<int64_t>& ids) {
  const auto& c = model.config();
  if (c.rope_scaling.type != "default" || c.attention_bias || c.mlp_bias)
    throw std::invalid_argument("naive_logits supports default RoPE without biases only");
  const int64_t d = c.head_dim, nh = c.num_attention_heads, nkv = c.num_key_value_heads;
  std::vector<NaiveBlock> blocks;
  for (const auto& b : model.blocks)
    blocks.push_back({to_vec(b.input_layernorm), to_vec(b.post_attention_layernorm), to_mat(b.q_proj.weight),
                      to_mat(b.k_proj.weight), to_mat(b.v_proj.weight), to_mat(b.o_proj.weight),
                      to_mat(b.gate_proj.weight), to_mat(b.up_proj.weight), to_mat(b.down_proj.weight)});
  const Mat embed = to_mat(model.embed_tokens);
  const Mat head = to_mat(model.lm_head);
  const Vec final_norm = to_vec(model.norm);

  // kv cache per layer: keys[layer][pos] = concatenated KV heads
  std::vector<std::vector<Vec>> keys(blocks.size()), values(blocks.size());
  std::vector<std::vector<double>> logits;
  for (size_t t = 0; t < ids.size(); ++t) {
    Vec x = embed.at(ids[t]);
    for (size_t l = 0; l < blocks.size(); ++l) {
      const auto& B = blocks[l];
      const Vec xn = rmsnorm(x, B.attn_norm, c.rms_norm_eps);
      Vec q = matvec(B.q, xn), k = matvec(B.k, xn), v = matvec(B.v, xn);
      for (int64_t h = 0; h < nh; ++h) rope(&q[h * d], d, static_cast<int64_t>(t), c.rope_theta);
      for (int64_t h = 0; h < nkv; ++h) rope(&k[h * d], d, static_cast<int64_t>(t), c.rope_theta);
      keys[l].push_back(k);
      values[l].push_back(v);
      Vec attn(nh * d, 0.0);
      for (int64_t h = 0; h < nh; ++h) {
        const int64_t kvh = h / (nh / nkv);
        std::vector<double> scores(t + 1);
        double mx = -1e300;
        for (size_t s = 0; s <= t; ++s) {
          double dot = 0;
          for (int64_t i = 0; i < d; ++i) dot += q[h * d + i] * keys[l][s][kvh * d + i];
          scores[s] = dot / std::sqrt(static_cast<double>(d));
          mx = std::max(mx, scores[s]);
        }
        double z = 0;
        for (auto& sc : scores) z += (sc = std::exp(sc - mx));
        for (size_t s = 0; s <= t; ++s)
          for (int64_t i = 0; i < d; ++i) attn[h * d + i] += scores[s] / z * values[l][s][kvh * d + i];
      }
      const Vec o = matvec(B.o, attn);
      for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
      const Vec hn = rmsnorm(x, B.mlp_norm, c.rms_norm_eps);
      const Vec g = matvec(B.gate, hn), u = matvec(B.up, hn);
      Vec act(g.size());
      for (size_t i = 0; i < g.size(); ++i) act[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const Vec down = matvec(B.down, act);
      for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
    }
    logits.push_back(matvec(head, rmsnorm(x, final_norm, c.rms_norm_eps)));
  }
  return logits;
}

NaivePpl naive_perplexity(const LlamaModel& model, const std::vector<int64_t>& stream, int64_t seqlen,
                          int64_t segments) {
  double loss_sum = 0;
  for (int64_t s = 0; s < segments; ++s) {
    const std::vector<int64_t> seg(stream.begin() + s * seqlen, stream.begin() + (s + 1) * seqlen);
    const auto logits = naive_logits(model, seg);
    double ce = 0;
    for (int64_t t = 0; t + 1 < seqlen; ++t) {
      double mx = -1e300, z = 0;
      for (double v : logits[t]) mx = std::max(mx, v);
      for (double v : logits[t]) z += std::exp(v - mx);
      ce += (mx + std::log(z)) - logits[t][seg[t + 1]];
    }
    loss_sum += ce / (seqlen - 1);
  }
  const double mean = loss_sum / segments;
  return {std::exp(mean), mean * segments * (seqlen - 1), segments * (seqlen - 1)};
}

}  // namespace ptq::test
