#include "tests/support/random_model.h"

#include "harness/io/npy.h"
#include "harness/model/checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace ptq::test {

LlamaConfig tiny_config(const TinyShape& s) {
  LlamaConfig c;
  c.hidden_size = s.hidden;
  c.intermediate_size = s.intermediate;
  c.num_hidden_layers = s.layers;
  c.num_attention_heads = s.heads;
  c.num_key_value_heads = s.kv_heads;
  c.head_dim = s.hidden / s.heads;
  c.vocab_size = s.vocab;
  c.max_position_embeddings = s.max_pos;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = s.tied;
  c.validate("tiny_config");
  return c;
}

LlamaModel random_model(const LlamaConfig& c, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto normal = [&](std::vector<int64_t> shape, double std) {
    return at::normal(0.0, std, shape, gen);
  };
  LlamaModel m(c);
  m.embed_tokens = normal({c.vocab_size, c.hidden_size}, 1.0);
  for (size_t i = 0; i < m.num_blocks(); ++i) {
    DecoderBlock& b = m.block_in_place(i);
    b.input_layernorm = 1 + normal({c.hidden_size}, 0.1);
    b.post_attention_layernorm = 1 + normal({c.hidden_size}, 0.1);
    b.q_proj.weight = normal({c.q_dim(), c.hidden_size}, 0.1);
    b.k_proj.weight = normal({c.kv_dim(), c.hidden_size}, 0.1);
    b.v_proj.weight = normal({c.kv_dim(), c.hidden_size}, 0.1);
    b.o_proj.weight = normal({c.hidden_size, c.q_dim()}, 0.1);
    b.gate_proj.weight = normal({c.intermediate_size, c.hidden_size}, 0.1);
    b.up_proj.weight = normal({c.intermediate_size, c.hidden_size}, 0.1);
    b.down_proj.weight = normal({c.hidden_size, c.intermediate_size}, 0.1);
    // The variants' optional parts (drawn after the rest, so that a plain Llama's weights do not change).
    if (c.has_q_bias()) {
      b.q_proj.bias = normal({c.q_dim()}, 0.1);
      b.k_proj.bias = normal({c.kv_dim()}, 0.1);
      b.v_proj.bias = normal({c.kv_dim()}, 0.1);
    }
    if (c.has_o_bias()) b.o_proj.bias = normal({c.hidden_size}, 0.1);
    if (c.mlp_bias) {
      b.gate_proj.bias = normal({c.intermediate_size}, 0.1);
      b.up_proj.bias = normal({c.intermediate_size}, 0.1);
      b.down_proj.bias = normal({c.hidden_size}, 0.1);
    }
    if (c.qk_norm) {
      b.q_norm = 1 + normal({c.head_dim}, 0.1);
      b.k_norm = 1 + normal({c.head_dim}, 0.1);
    }
  }
  m.norm = 1 + normal({c.hidden_size}, 0.1);
  m.lm_head = c.tie_word_embeddings ? m.embed_tokens : normal({c.vocab_size, c.hidden_size}, 0.1);
  return m;
}

LlamaModel write_random_checkpoint(const std::string& dir, const LlamaConfig& config, uint64_t seed) {
  LlamaModel m = random_model(config, seed);
  save_llama(m, dir, at::kFloat);
  return m;
}

LlamaModel copy_model(const LlamaModel& m) {
  LlamaModel out = m;
  for (auto& [name, t] : out.named_tensors()) *t = t->clone();
  if (out.config().tie_word_embeddings) out.lm_head = out.embed_tokens;
  return out;
}

at::Tensor saved_act_clip(const LlamaModel& m, size_t i) {
  if (!m.activation_hook(i)) return {};
  for (const auto& [name, t] : m.activation_hook(i)->saved_tensors())
    if (name == kActClipTensor) return t;
  return {};
}

at::Tensor last_hidden(const LlamaModel& m, const at::Tensor& ids) {
  at::NoGradGuard no_grad;
  const auto rope = m.rope(ids.size(1));
  at::Tensor h = m.embed(ids);
  for (size_t i = 0; i < m.num_blocks(); ++i) h = m.block_forward(i, h, rope);
  return h;
}

at::Tensor calibration_ids(int64_t n, int64_t t, int64_t vocab) {
  return at::randint(vocab, {n, t}, at::TensorOptions().dtype(at::kLong)).contiguous();
}

std::vector<int64_t> write_token_ids(const std::string& path, int64_t count, int64_t step, int64_t offset) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < count; ++i) ids.push_back((i * step + offset) % 97);
  io::write_npy_ids(path, at::tensor(ids, at::kLong));
  return ids;
}

}  // namespace ptq::test
