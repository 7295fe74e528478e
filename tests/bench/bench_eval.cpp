// Evaluation throughput (Google Benchmark): the forward pass of one LLaMA-7B-shaped decoder block
// (hidden 4096, intermediate 11008, 32 heads) at seqlen 2048 with random fp32 weights - the unit of work
// of perplexity evaluation and of block-wise PTQ - and a whole tiny model through evaluate_perplexity.
#include "bench/bench_blocks.h"
#include "model/llama_model.h"
#include "perplexity/perplexity.h"

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <c10/core/InferenceMode.h>


namespace {

// FLOPs of one block forward: 2*T*(params of the 7 linears) + attention (QK^T and PV: 2 * 2*T^2*hidden).
double block_flops(const ptq::LlamaConfig& c, int64_t t) {
  const double linear = 2.0 * t * (c.hidden_size * (c.q_dim() + 2 * c.kv_dim()) + c.q_dim() * c.hidden_size +
                                   3.0 * c.hidden_size * c.intermediate_size);
  return linear + 4.0 * t * t * c.q_dim();
}

void BM_Llama7BBlockForward(benchmark::State& state) {
  c10::InferenceMode guard;
  const int64_t seqlen = state.range(0);
  const auto c = ptq::bench::llama7b_block_config();
  const auto block = ptq::bench::random_block(c);
  const auto rope = ptq::rope_tables(c, seqlen, at::TensorOptions().dtype(at::kFloat));
  const at::Tensor x = at::randn({1, seqlen, c.hidden_size});
  for (auto _ : state) benchmark::DoNotOptimize(ptq::decoder_block_forward(block, c, x, rope));
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(seqlen), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP_per_s"] = benchmark::Counter(block_flops(c, seqlen) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Llama7BBlockForward)->Arg(2048)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

void BM_TinyModelPerplexity(benchmark::State& state) {
  ptq::LlamaConfig c = ptq::bench::llama7b_block_config();
  c.hidden_size = 256;
  c.intermediate_size = 688;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.num_hidden_layers = 4;
  c.vocab_size = 1000;
  ptq::LlamaModel m(c);
  m.embed_tokens = at::randn({c.vocab_size, c.hidden_size});
  for (auto& b : m.blocks) b = ptq::bench::random_block(c);
  m.norm = at::ones({c.hidden_size});
  m.lm_head = at::randn({c.vocab_size, c.hidden_size}) * 0.02;
  const at::Tensor ids = at::randint(0, c.vocab_size, {8 * 512}, at::kLong);
  ptq::eval::PplOptions o;
  o.seqlen = 512;
  o.progress = false;
  for (auto _ : state) benchmark::DoNotOptimize(ptq::eval::evaluate_perplexity(m, ids, o).ppl);
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(ids.numel()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TinyModelPerplexity)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
