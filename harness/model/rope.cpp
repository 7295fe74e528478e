#include "harness/model/rope.h"

#include <ATen/ATen.h>

#include <cmath>

namespace ptq {

at::Tensor rope_inv_freq(const LlamaConfig& c) {
  const int64_t d = c.head_dim;
  // 1 / theta^(2i/d), all in float32 like `1.0 / (base ** (torch.arange(0, d, 2).float() / d))`.
  at::Tensor exponent = at::arange(0, d, 2, at::kLong).to(at::kFloat) / static_cast<double>(d);
  at::Tensor inv_freq = at::reciprocal(at::pow(c.rope_theta, exponent));
  const auto& s = c.rope_scaling;
  if (s.type == "linear") {
    inv_freq = inv_freq / s.factor;
  } else if (s.type == "llama3") {
    // Llama 3.1: long wavelengths divided by `factor`, short ones kept, a smooth blend in between.
    const double old_len = static_cast<double>(s.original_max_position_embeddings);
    const double low_freq_wavelen = old_len / s.low_freq_factor;
    const double high_freq_wavelen = old_len / s.high_freq_factor;
    at::Tensor wavelen = (2 * M_PI) / inv_freq;
    at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
    at::Tensor smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
    inv_freq = at::where(medium, smoothed, scaled);
  }
  // "dynamic" NTK scaling only changes inv_freq beyond max_position_embeddings, which we never reach.
  return inv_freq;
}

RopeTables rope_tables(const LlamaConfig& c, int64_t seqlen, const at::TensorOptions& options) {
  at::Tensor inv_freq = rope_inv_freq(c);
  at::Tensor positions = at::arange(seqlen, at::kLong).to(at::kFloat);
  at::Tensor freqs = at::outer(positions, inv_freq);  // float32 products, as HF's matmul of [D/2,1]x[1,T]
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  return {emb.cos().to(options), emb.sin().to(options)};
}

at::Tensor apply_rope(const at::Tensor& x, const RopeTables& rope) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  const int64_t t = x.size(-2);
  return x * rope.cos.narrow(0, 0, t) + rotated * rope.sin.narrow(0, 0, t);
}

}  // namespace ptq
