// Evaluation throughput (Google Benchmark): the forward pass of one LLaMA-7B-shaped decoder block
// (hidden 4096, intermediate 11008, 32 heads) at seqlen 2048 with random weights - the unit of work of
// perplexity evaluation and of block-wise PTQ -, a whole 7B-shaped model through evaluate_perplexity
// (GPU only), and a whole tiny model (CPU).
#include "evaluators/perplexity/perplexity.h"
#include "harness/model/llama_model.h"
#include "tests/bench/bench_blocks.h"

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <c10/core/InferenceMode.h>


namespace {

void BM_Llama7BBlockForward(benchmark::State& state) {
  c10::InferenceMode guard;
  const int64_t seqlen = state.range(0);
  const auto c = ptq::bench::llama7b_block_config();
  const auto device = ptq::bench::bench_device();
  const auto dtype = ptq::bench::bench_dtype();
  const auto block = ptq::bench::random_block(c, device, dtype);
  const auto rope = ptq::rope_tables(c, seqlen, at::TensorOptions().dtype(dtype).device(device));
  const at::Tensor x = at::randn({1, seqlen, c.hidden_size}, at::TensorOptions().dtype(dtype).device(device));
  for (auto _ : state) ptq::bench::sync(ptq::decoder_block_forward(block, c, x, rope));
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(seqlen), benchmark::Counter::kIsIterationInvariantRate);
  ptq::bench::set_flop_counters(state, ptq::bench::block_forward_flops(c, seqlen));
}
BENCHMARK(BM_Llama7BBlockForward)->Arg(2048)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

// Perplexity evaluation of a whole LLaMA-7B-shaped model (32 blocks, random fp16 weights, ~13 GB): a
// GPU benchmark (PTQ_BENCH_DEVICE=cuda); on the CPU it reports itself skipped.
void BM_Llama7BModelPerplexity(benchmark::State& state) {
  const auto device = ptq::bench::bench_device();
  if (!device.is_cuda()) {
    state.SkipWithError("a 7B model needs PTQ_BENCH_DEVICE=cuda");
    for (auto _ : state) {
    }
    return;
  }
  ptq::LlamaConfig c = ptq::bench::llama7b_block_config();
  c.num_hidden_layers = 32;
  const auto dtype = ptq::bench::bench_dtype();
  const auto o = at::TensorOptions().device(device).dtype(dtype);
  ptq::LlamaModel m(c);
  m.embed_tokens = at::randn({c.vocab_size, c.hidden_size}, o) * 0.02;
  for (size_t i = 0; i < m.num_blocks(); ++i) m.set_block(i, ptq::bench::random_block(c, device, dtype));
  m.norm = at::ones({c.hidden_size}, o);
  m.lm_head = at::randn({c.vocab_size, c.hidden_size}, o) * 0.02;
  m.to(device, dtype);
  const int64_t seqlen = 2048, segments = 8;
  const at::Tensor ids = at::randint(0, c.vocab_size, {segments * seqlen}, at::kLong);
  ptq::eval::PplOptions po;
  po.seqlen = seqlen;
  po.batch_size = 4;
  po.progress = false;
  for (auto _ : state) benchmark::DoNotOptimize(ptq::eval::evaluate_perplexity(m, ids, po).ppl);
  const double tokens = static_cast<double>(segments * seqlen);
  state.counters["tokens_per_s"] = benchmark::Counter(tokens, benchmark::Counter::kIsIterationInvariantRate);
  const double head = 2.0 * tokens * static_cast<double>(c.vocab_size) * static_cast<double>(c.hidden_size);
  ptq::bench::set_flop_counters(state, 32 * ptq::bench::block_forward_flops(c, seqlen) * segments + head);
}
BENCHMARK(BM_Llama7BModelPerplexity)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

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
  for (size_t i = 0; i < m.num_blocks(); ++i) m.set_block(i, ptq::bench::random_block(c));
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
