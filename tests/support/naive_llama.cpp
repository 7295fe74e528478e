#include "tests/support/naive_llama.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ptq::test {

namespace {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;  // row-major [out][in]

// A weight matrix, fake-quantized per output row or per group of `group` columns when bits < 16.
Mat to_mat(const at::Tensor& t, int bits = 16, int64_t group = 0) {
  const at::Tensor c = t.to(at::kFloat).contiguous().cpu();
  const auto* p = c.data_ptr<float>();
  const int64_t rows = c.size(0), cols = c.size(1), g = group > 0 ? group : cols;
  Mat m(rows, Vec(cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t g0 = 0; g0 < cols; g0 += g) {
      std::vector<float> part(p + i * cols + g0, p + i * cols + g0 + g);
      if (bits < 16) part = naive_fake_quant_row(part, bits);
      for (int64_t j = 0; j < g; ++j) m[i][g0 + j] = part[j];
    }
  return m;
}

// Per-token activation quantization of v[begin, begin + n): the values are rounded to float first,
// since the model under test holds activations in float32.
void quant_span(Vec& v, size_t begin, size_t n, int bits) {
  if (bits >= 16) return;
  std::vector<float> part(v.begin() + begin, v.begin() + begin + n);
  part = naive_fake_quant_row(part, bits);
  for (size_t i = 0; i < n; ++i) v[begin + i] = part[i];
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

// The rotation frequencies theta^(-2i/d), i < d/2, with the config's scaling: "linear" divides all of them
// by the factor; "llama3" (Llama 3.1's published rule) divides those whose wavelength exceeds
// original_max / low_freq_factor, keeps those below original_max / high_freq_factor and blends in between.
Vec rope_frequencies(const LlamaConfig& c) {
  const int64_t d = c.head_dim;
  const auto& s = c.rope_scaling;
  Vec f(d / 2);
  for (int64_t i = 0; i < d / 2; ++i) {
    const double base = std::pow(c.rope_theta, -2.0 * i / d);
    double v = base;
    if (s.type == "linear") v = base / s.factor;
    if (s.type == "llama3") {
      const double wavelength = 2 * M_PI / base, old_len = static_cast<double>(s.original_max_position_embeddings);
      if (wavelength > old_len / s.low_freq_factor) {
        v = base / s.factor;
      } else if (wavelength >= old_len / s.high_freq_factor) {
        const double blend = (old_len / wavelength - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        v = (1 - blend) * base / s.factor + blend * base;
      }
    }
    f[i] = v;
  }
  return f;
}

// Rotate-half RoPE on one head vector: pairs (i, i + d/2) rotate by pos * freq[i].
void rope(double* v, int64_t d, int64_t pos, const Vec& freq) {
  for (int64_t i = 0; i < d / 2; ++i) {
    const double angle = pos * freq[i];
    const double a = v[i], b = v[i + d / 2];
    v[i] = a * std::cos(angle) - b * std::sin(angle);
    v[i + d / 2] = b * std::cos(angle) + a * std::sin(angle);
  }
}

struct NaiveBlock {
  Vec attn_norm, mlp_norm;
  Mat q, k, v, o, gate, up, down;
  Vec attn_norm_bias, mlp_norm_bias;          // empty: none
  Vec q_bias, k_bias, v_bias, o_bias, gate_bias, up_bias, down_bias;
  Vec q_norm, k_norm;                         // qwen3: [head_dim]; empty: none
};

Vec opt_vec(const at::Tensor& t) { return t.defined() ? to_vec(t) : Vec(); }

void add_bias(Vec& y, const Vec& b) {
  for (size_t i = 0; i < b.size(); ++i) y[i] += b[i];
}

// RMSNorm of each head_dim slice of v with the gain g (qwen3's q_norm / k_norm).
void norm_heads(Vec& v, const Vec& g, int64_t d, double eps) {
  if (g.empty()) return;
  for (size_t h = 0; h * d < v.size(); ++h) {
    const Vec head(v.begin() + h * d, v.begin() + (h + 1) * d);
    const Vec n = rmsnorm(head, g, eps);
    std::copy(n.begin(), n.end(), v.begin() + h * d);
  }
}

}  // namespace

std::vector<float> naive_fake_quant_row(const std::vector<float>& row, int bits) {
  float lo = row[0], hi = row[0];
  for (float v : row) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const float qmax = static_cast<float>((1 << bits) - 1);
  const float scale = std::min(std::max((hi - lo) / qmax, 1e-5f), 1e4f);
  const float zero = std::nearbyint(std::min(std::max(-lo / scale, -1e4f), 1e4f));  // half to even, as torch.round
  std::vector<float> out(row.size());
  for (size_t i = 0; i < row.size(); ++i) {
    const float q = std::min(std::max(std::nearbyint(row[i] / scale) + zero, 0.0f), qmax);
    out[i] = (q - zero) * scale;
  }
  return out;
}

std::vector<std::vector<double>> naive_logits(const LlamaModel& model, const std::vector<int64_t>& ids,
                                              const NaiveQuant& quant) {
  const auto& c = model.config();
  if (c.rope_scaling.type != "default" && c.rope_scaling.type != "linear" && c.rope_scaling.type != "llama3" &&
      c.rope_scaling.type != "dynamic")
    throw std::invalid_argument("naive_logits: RoPE scaling " + c.rope_scaling.type);
  const Vec freq = rope_frequencies(c);
  const int64_t d = c.head_dim, nh = c.num_attention_heads, nkv = c.num_key_value_heads;
  std::vector<NaiveBlock> blocks;
  const int wb = quant.wbits;
  const int64_t g = quant.group;
  for (size_t i = 0; i < model.num_blocks(); ++i) {
    const DecoderBlock b = model.block(i);
    blocks.push_back({to_vec(b.input_layernorm), to_vec(b.post_attention_layernorm), to_mat(b.q_proj.weight, wb, g),
                      to_mat(b.k_proj.weight, wb, g), to_mat(b.v_proj.weight, wb, g), to_mat(b.o_proj.weight, wb, g),
                      to_mat(b.gate_proj.weight, wb, g), to_mat(b.up_proj.weight, wb, g),
                      to_mat(b.down_proj.weight, wb, g)});
    NaiveBlock& nb = blocks.back();
    nb.attn_norm_bias = opt_vec(b.input_layernorm_bias);
    nb.mlp_norm_bias = opt_vec(b.post_attention_layernorm_bias);
    nb.q_bias = opt_vec(b.q_proj.bias);
    nb.k_bias = opt_vec(b.k_proj.bias);
    nb.v_bias = opt_vec(b.v_proj.bias);
    nb.o_bias = opt_vec(b.o_proj.bias);
    nb.gate_bias = opt_vec(b.gate_proj.bias);
    nb.up_bias = opt_vec(b.up_proj.bias);
    nb.down_bias = opt_vec(b.down_proj.bias);
    nb.q_norm = opt_vec(b.q_norm);
    nb.k_norm = opt_vec(b.k_norm);
  }
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
      Vec xn = rmsnorm(x, B.attn_norm, c.rms_norm_eps);
      add_bias(xn, B.attn_norm_bias);
      quant_span(xn, 0, xn.size(), quant.abits);
      Vec q = matvec(B.q, xn), k = matvec(B.k, xn), v = matvec(B.v, xn);
      add_bias(q, B.q_bias);
      add_bias(k, B.k_bias);
      add_bias(v, B.v_bias);
      norm_heads(q, B.q_norm, d, c.rms_norm_eps);
      norm_heads(k, B.k_norm, d, c.rms_norm_eps);
      for (int64_t h = 0; h < nh; ++h) rope(&q[h * d], d, static_cast<int64_t>(t), freq);
      for (int64_t h = 0; h < nkv; ++h) rope(&k[h * d], d, static_cast<int64_t>(t), freq);
      for (int64_t h = 0; h < nh; ++h) quant_span(q, h * d, d, quant.kvbits);
      for (int64_t h = 0; h < nkv; ++h) {
        quant_span(k, h * d, d, quant.kvbits);
        quant_span(v, h * d, d, quant.kvbits);
      }
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
      quant_span(attn, 0, attn.size(), quant.abits);
      Vec o = matvec(B.o, attn);
      add_bias(o, B.o_bias);
      for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
      Vec hn = rmsnorm(x, B.mlp_norm, c.rms_norm_eps);
      add_bias(hn, B.mlp_norm_bias);
      quant_span(hn, 0, hn.size(), quant.abits);
      Vec gate = matvec(B.gate, hn), u = matvec(B.up, hn);
      add_bias(gate, B.gate_bias);
      add_bias(u, B.up_bias);
      Vec act(gate.size());
      for (size_t i = 0; i < gate.size(); ++i) act[i] = gate[i] / (1.0 + std::exp(-gate[i])) * u[i];
      quant_span(act, 0, act.size(), quant.abits);
      Vec down = matvec(B.down, act);
      add_bias(down, B.down_bias);
      for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
    }
    logits.push_back(matvec(head, rmsnorm(x, final_norm, c.rms_norm_eps)));
  }
  return logits;
}

NaivePpl naive_perplexity(const LlamaModel& model, const std::vector<int64_t>& stream, int64_t seqlen,
                          int64_t segments, const NaiveQuant& quant) {
  double loss_sum = 0;
  for (int64_t s = 0; s < segments; ++s) {
    const std::vector<int64_t> seg(stream.begin() + s * seqlen, stream.begin() + (s + 1) * seqlen);
    const auto logits = naive_logits(model, seg, quant);
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
