#include "tests/bench/bench_blocks.h"

#include <ATen/ATen.h>

#include <cstdlib>
#include <string>

namespace ptq::bench {

c10::Device bench_device() {
  const char* d = std::getenv("PTQ_BENCH_DEVICE");
  return c10::Device(d && *d ? d : "cpu");
}

c10::ScalarType bench_dtype() { return bench_device().is_cuda() ? c10::kHalf : c10::kFloat; }

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

LlamaConfig stories260k_block_config() {
  LlamaConfig c;
  c.hidden_size = 64;
  c.intermediate_size = 172;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 4;
  c.head_dim = 8;
  c.vocab_size = 512;
  c.max_position_embeddings = 512;
  c.rms_norm_eps = 1e-5;
  return c;
}

DecoderBlock random_block(const LlamaConfig& c, c10::Device device, c10::ScalarType dtype) {
  const auto o = at::TensorOptions().device(device).dtype(dtype);
  DecoderBlock b;
  b.input_layernorm = at::ones({c.hidden_size}, o);
  b.post_attention_layernorm = at::ones({c.hidden_size}, o);
  b.q_proj.weight = at::randn({c.q_dim(), c.hidden_size}, o) * 0.02;
  b.k_proj.weight = at::randn({c.kv_dim(), c.hidden_size}, o) * 0.02;
  b.v_proj.weight = at::randn({c.kv_dim(), c.hidden_size}, o) * 0.02;
  b.o_proj.weight = at::randn({c.hidden_size, c.q_dim()}, o) * 0.02;
  b.gate_proj.weight = at::randn({c.intermediate_size, c.hidden_size}, o) * 0.02;
  b.up_proj.weight = at::randn({c.intermediate_size, c.hidden_size}, o) * 0.02;
  b.down_proj.weight = at::randn({c.hidden_size, c.intermediate_size}, o) * 0.02;
  return b;
}

double block_forward_flops(const LlamaConfig& c, int64_t t) {
  const double td = static_cast<double>(t);
  const double linear = 2.0 * td *
                        (static_cast<double>(c.hidden_size) * static_cast<double>(c.q_dim() + 2 * c.kv_dim()) +
                         static_cast<double>(c.q_dim()) * static_cast<double>(c.hidden_size) +
                         3.0 * static_cast<double>(c.hidden_size) * static_cast<double>(c.intermediate_size));
  return linear + 4.0 * td * td * static_cast<double>(c.q_dim());
}

void set_flop_counters(benchmark::State& state, double flops) {
  state.counters["TFLOP"] = benchmark::Counter(flops / 1e12, benchmark::Counter::kIsIterationInvariantRate);
  if (const char* peak = std::getenv("PTQ_PEAK_TFLOPS")) {
    const double p = std::atof(peak);
    if (p > 0)
      state.counters["peak_fraction"] =
          benchmark::Counter(flops / 1e12 / p, benchmark::Counter::kIsIterationInvariantRate);
  }
}

void sync(const at::Tensor& t) { benchmark::DoNotOptimize(t.reshape({-1})[0].item<double>()); }

}  // namespace ptq::bench
