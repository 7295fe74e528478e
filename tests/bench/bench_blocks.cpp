#include "bench/bench_blocks.h"

#include <ATen/ATen.h>

namespace ptq::bench {

LlamaConfig llama7b_block_config() {
  LlamaConfig c;
  c.hidden_size = 4096;
  c.intermediate_size = 11008;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 32;
  c.head_dim = 128;
  c.vocab_size = 32000;
  c.max_position_embeddings = 4096;
  c.rms_norm_eps = 1e-5;
  return c;
}

DecoderBlock random_block(const LlamaConfig& c) {
  DecoderBlock b;
  b.input_layernorm = at::ones({c.hidden_size});
  b.post_attention_layernorm = at::ones({c.hidden_size});
  b.q_proj.weight = at::randn({c.q_dim(), c.hidden_size}) * 0.02;
  b.k_proj.weight = at::randn({c.kv_dim(), c.hidden_size}) * 0.02;
  b.v_proj.weight = at::randn({c.kv_dim(), c.hidden_size}) * 0.02;
  b.o_proj.weight = at::randn({c.hidden_size, c.q_dim()}) * 0.02;
  b.gate_proj.weight = at::randn({c.intermediate_size, c.hidden_size}) * 0.02;
  b.up_proj.weight = at::randn({c.intermediate_size, c.hidden_size}) * 0.02;
  b.down_proj.weight = at::randn({c.hidden_size, c.intermediate_size}) * 0.02;
  return b;
}

}  // namespace ptq::bench
