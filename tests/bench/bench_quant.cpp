// Fake-quantization throughput (GB/s of input) on this CPU: the harness's quantizer (ranges + in-place
// quantize-dequantize when no gradient is needed) against the plain out-of-place composition of
// round/clamp ops one would write first. Per-token activations of a 7B layer input (2048 x 4096) and a
// 7B-sized weight (4096 x 4096) in groups of 128.
#include "harness/quant/fused_fake_quant.h"
#include "harness/quant/uniform_quantizer.h"

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <c10/core/InferenceMode.h>

namespace {

using ptq::quant::QuantizerSpec;

// The straightforward composition: every step allocates a new tensor.
at::Tensor composed_fake_quant(const at::Tensor& rows, int bits) {
  const double qmax = (1 << bits) - 1;
  const at::Tensor xmin = std::get<0>(rows.min(-1, true)), xmax = std::get<0>(rows.max(-1, true));
  const at::Tensor scale = ((xmax - xmin) / qmax).clamp(1e-5, 1e4);
  const at::Tensor zero = (-xmin / scale).clamp(-1e4, 1e4).round();
  return ((rows / scale).round() + zero).clamp(0, qmax).sub(zero).mul(scale);
}

void set_bytes(benchmark::State& state, const at::Tensor& x) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * x.numel() * x.element_size());
}

void BM_PerTokenActivations_Harness(benchmark::State& state) {
  c10::InferenceMode guard;
  const at::Tensor x = at::randn({2048, 4096});
  const QuantizerSpec spec{4, false, 0};
  for (auto _ : state) benchmark::DoNotOptimize(ptq::quant::fake_quant_per_token(x, spec));
  set_bytes(state, x);
}
void BM_PerTokenActivations_Composed(benchmark::State& state) {
  c10::InferenceMode guard;
  const at::Tensor x = at::randn({2048, 4096});
  for (auto _ : state) benchmark::DoNotOptimize(composed_fake_quant(x, 4));
  set_bytes(state, x);
}
void BM_PerGroupWeights_Harness(benchmark::State& state) {
  c10::InferenceMode guard;
  const at::Tensor w = at::randn({4096, 4096});
  const QuantizerSpec spec{4, false, 128};
  for (auto _ : state) benchmark::DoNotOptimize(ptq::quant::fake_quant_weight(w, spec));
  set_bytes(state, w);
}
void BM_PerGroupWeights_Composed(benchmark::State& state) {
  c10::InferenceMode guard;
  const at::Tensor w = at::randn({4096, 4096});
  for (auto _ : state) benchmark::DoNotOptimize(composed_fake_quant(w.reshape({-1, 128}), 4).reshape(w.sizes()));
  set_bytes(state, w);
}

void BM_PerTokenActivations_Fused(benchmark::State& state) {
  c10::InferenceMode guard;
  const at::Tensor x = at::randn({2048, 4096});
  const QuantizerSpec spec{4, false, 0};
  for (auto _ : state) benchmark::DoNotOptimize(ptq::quant::fused_fake_quant_per_token(x, spec));
  set_bytes(state, x);
}
// Training (a reconstruction step's activation quantizer): forward + backward with a learnable step.
void per_token_train(benchmark::State& state, bool fused) {
  const at::Tensor x0 = at::randn({2048, 4096});
  const at::Tensor g = at::randn({2048, 4096});
  const QuantizerSpec spec{4, false, 0};
  for (auto _ : state) {
    const at::Tensor x = x0.detach().requires_grad_(true);
    const at::Tensor clip = at::full({}, 4.0).requires_grad_(true);
    const at::Tensor y = fused ? ptq::quant::fused_fake_quant_per_token(x, spec, clip) : ptq::quant::fake_quant_per_token(x, spec, clip);
    y.backward(g);
    benchmark::DoNotOptimize(x.grad());
  }
  set_bytes(state, x0);
}
void BM_PerTokenActivationsTrain_Composed(benchmark::State& state) { per_token_train(state, false); }
void BM_PerTokenActivationsTrain_Fused(benchmark::State& state) { per_token_train(state, true); }

// Training OmniQuant's LWC: weight fake-quant forward + backward to the weight and both logits.
void lwc_train(benchmark::State& state, bool fused) {
  const QuantizerSpec spec{4, false, 128};
  const at::Tensor w0 = at::randn({4096, 4096}) * 0.02;
  const at::Tensor g = at::randn(w0.sizes());
  for (auto _ : state) {
    const at::Tensor w = w0.detach().requires_grad_(true);
    const at::Tensor up = ptq::quant::lwc_init(w0, spec).requires_grad_(true);
    const at::Tensor low = ptq::quant::lwc_init(w0, spec).requires_grad_(true);
    const at::Tensor y = fused ? ptq::quant::fused_fake_quant_weight(w, spec, up, low) : ptq::quant::fake_quant_weight(w, spec, up, low);
    y.backward(g);
    benchmark::DoNotOptimize(up.grad());
  }
  set_bytes(state, w0);
}
void BM_PerGroupWeightsLwcTrain_Composed(benchmark::State& state) { lwc_train(state, false); }
void BM_PerGroupWeightsLwcTrain_Fused(benchmark::State& state) { lwc_train(state, true); }
BENCHMARK(BM_PerGroupWeightsLwcTrain_Composed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerGroupWeightsLwcTrain_Fused)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK(BM_PerTokenActivations_Fused)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTokenActivationsTrain_Composed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTokenActivationsTrain_Fused)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTokenActivations_Harness)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerTokenActivations_Composed)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerGroupWeights_Harness)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PerGroupWeights_Composed)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
