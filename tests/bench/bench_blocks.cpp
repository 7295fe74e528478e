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

namespace {

// One block of a Llama: hidden size, MLP size, query and key/value heads (head_dim = hidden / heads).
LlamaConfig one_block(int64_t hidden, int64_t intermediate, int64_t heads, int64_t kv_heads, int64_t vocab, int64_t context) {
  LlamaConfig c;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = 1;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.vocab_size = vocab;
  c.max_position_embeddings = context;
  c.rms_norm_eps = 1e-5;
  return c;
}

}  // namespace

LlamaConfig llama7b_block_config() { return one_block(4096, 11008, 32, 32, 32000, 4096); }

LlamaConfig stories260k_block_config() { return one_block(64, 172, 8, 4, 512, 512); }

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
