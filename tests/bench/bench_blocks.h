// LLaMA-7B-shaped decoder blocks with random weights, and the device, dtype and FLOP counters shared by
// the benchmarks. PTQ_BENCH_DEVICE=cuda[:N] runs them on a GPU (fp16, the reference codes' dtype);
// PTQ_PEAK_TFLOPS=<the device's dense fp16/bf16 peak, e.g. 989 for an H100/H200 SXM> adds the fraction of it.
#pragma once

#include "harness/model/llama_model.h"

#include <benchmark/benchmark.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace ptq::bench {

c10::Device bench_device();      // PTQ_BENCH_DEVICE, default cpu
c10::ScalarType bench_dtype();   // fp32 on CPU, fp16 on CUDA

// hidden 4096, intermediate 11008, 32 heads (no GQA), one layer.
LlamaConfig llama7b_block_config();
// A block shaped as stories260K's (../shared/data; the side-by-side job of scripts/compare-released): hidden
// 64, 8 query heads and 4 key/value heads of 8 channels, MLP 172.
LlamaConfig stories260k_block_config();
// Weights ~ N(0, 0.02), norms 1, created directly on `device` in `dtype`.
DecoderBlock random_block(const LlamaConfig& c, c10::Device device = c10::kCPU, c10::ScalarType dtype = c10::kFloat);

// FLOPs of one block forward over t tokens: 2*t*(the 7 linears' parameters) + attention's QK^T and PV
// (2 * 2*t^2*q_dim, counted in full as a dense kernel computes them).
double block_forward_flops(const LlamaConfig& c, int64_t t);
// Counters TFLOP (per second) and, with PTQ_PEAK_TFLOPS set, peak_fraction, for `flops` per iteration
// (rates: the console prints "/s" after both; the JSON holds the plain values).
void set_flop_counters(benchmark::State& state, double flops);
// Waits for the device's queued work through a value read back (the timing of a CUDA iteration).
void sync(const at::Tensor& t);

}  // namespace ptq::bench
