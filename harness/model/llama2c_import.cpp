#include "harness/model/llama2c_import.h"

#include "harness/io/mapped_file.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstring>

namespace ptq {

namespace {

// run.c order: token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final,
// freq_cis_real, freq_cis_imag, then wcls when the classifier is not shared. Weights are [out, in].
class Reader {
 public:
  explicit Reader(const io::MappedFile& f) : f_(f) {}
  at::Tensor next(std::vector<int64_t> shape) {
    at::Tensor t = at::empty(shape, at::kFloat);
    const size_t n = t.numel() * sizeof(float);
    if (pos_ + n > f_.size())
      throw InputError(fmt::format("{}: truncated llama2.c checkpoint ({} bytes, needs more than {})", f_.path(),
                                   f_.size(), pos_ + n));
    std::memcpy(t.data_ptr(), f_.data() + pos_, n);
    pos_ += n;
    return t;
  }
  void skip(size_t n) { pos_ += n; }
  size_t pos() const { return pos_; }

 private:
  const io::MappedFile& f_;
  size_t pos_ = 7 * sizeof(int32_t);
};

at::Tensor interleaved_to_rotate_half(const at::Tensor& w, int64_t heads) {
  return w.view({heads, w.size(0) / heads / 2, 2, w.size(1)}).transpose(1, 2).reshape({w.size(0), w.size(1)});
}

}  // namespace

LlamaModel import_llama2c(const std::string& bin_path, double rms_norm_eps) {
  const io::MappedFile f(bin_path);
  if (f.size() < 7 * sizeof(int32_t)) throw InputError(fmt::format("{}: too short for a llama2.c checkpoint", bin_path));
  int32_t h[7];
  std::memcpy(h, f.data(), sizeof h);
  LlamaConfig c;
  c.hidden_size = h[0];
  c.intermediate_size = h[1];
  c.num_hidden_layers = h[2];
  c.num_attention_heads = h[3];
  c.num_key_value_heads = h[4];
  c.vocab_size = h[5] < 0 ? -static_cast<int64_t>(h[5]) : h[5];  // negative: separate classifier
  c.max_position_embeddings = h[6];
  c.head_dim = c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0;
  c.rms_norm_eps = rms_norm_eps;
  c.tie_word_embeddings = h[5] > 0;
  c.validate(bin_path + " (llama2.c header)");
  const int64_t dim = c.hidden_size, hidden = c.intermediate_size, layers = c.num_hidden_layers, kv = c.kv_dim();

  Reader r(f);
  LlamaModel m(c);
  m.embed_tokens = r.next({c.vocab_size, dim});
  const at::Tensor rms_att = r.next({layers, dim}), wq = r.next({layers, dim, dim}), wk = r.next({layers, kv, dim}),
                   wv = r.next({layers, kv, dim}), wo = r.next({layers, dim, dim}), rms_ffn = r.next({layers, dim}),
                   w1 = r.next({layers, hidden, dim}), w2 = r.next({layers, dim, hidden}),
                   w3 = r.next({layers, hidden, dim});
  m.norm = r.next({dim});
  r.skip(2 * c.max_position_embeddings * (c.head_dim / 2) * sizeof(float));  // freq_cis: recomputed
  for (int64_t l = 0; l < layers; ++l) {
    DecoderBlock& b = m.block_in_place(l);
    b.input_layernorm = rms_att[l].clone();
    b.post_attention_layernorm = rms_ffn[l].clone();
    b.q_proj.weight = interleaved_to_rotate_half(wq[l], c.num_attention_heads);
    b.k_proj.weight = interleaved_to_rotate_half(wk[l], c.num_key_value_heads);
    b.v_proj.weight = wv[l].clone();
    b.o_proj.weight = wo[l].clone();
    b.gate_proj.weight = w1[l].clone();
    b.down_proj.weight = w2[l].clone();
    b.up_proj.weight = w3[l].clone();
  }
  m.lm_head = c.tie_word_embeddings ? m.embed_tokens : r.next({c.vocab_size, dim});
  if (r.pos() != f.size())
    throw InputError(fmt::format("{}: {} bytes left after the last tensor, expected a llama2.c version-0 file",
                                 bin_path, f.size() - r.pos()));
  return m;
}

}  // namespace ptq
