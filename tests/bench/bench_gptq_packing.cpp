// GPTQ packing throughput (quant/gptq_packing.h) on a LLaMA-7B MLP linear (11008 x 4096): what loading a
// packed checkpoint (unpack, per linear) and exporting one (pack) cost before any arithmetic. Items are
// weights; at 4 bits a 7B model has ~6.5e9 of them.
#include "harness/quant/gptq_packing.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace {

constexpr int64_t kIn = 11008, kOut = 4096;

std::vector<uint8_t> values(int bits) {
  std::vector<uint8_t> v(static_cast<size_t>(kIn * kOut));
  uint32_t x = 12345;
  for (auto& e : v) {
    x = x * 1664525u + 1013904223u;  // any values in range will do
    e = static_cast<uint8_t>((x >> 24) & ((1u << bits) - 1));
  }
  return v;
}

void BM_GptqPackRows(benchmark::State& state) {
  const int bits = static_cast<int>(state.range(0));
  const auto v = values(bits);
  for (auto _ : state) benchmark::DoNotOptimize(ptq::quant::gptq::pack_along_rows(v, kIn, kOut, bits));
  state.SetItemsProcessed(state.iterations() * kIn * kOut);
}

void BM_GptqUnpackRows(benchmark::State& state) {
  const int bits = static_cast<int>(state.range(0));
  const auto words = ptq::quant::gptq::pack_along_rows(values(bits), kIn, kOut, bits);
  for (auto _ : state) benchmark::DoNotOptimize(ptq::quant::gptq::unpack_along_rows(words, kIn, kOut, bits));
  state.SetItemsProcessed(state.iterations() * kIn * kOut);
}

}  // namespace

BENCHMARK(BM_GptqPackRows)->Arg(4)->Arg(3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GptqUnpackRows)->Arg(4)->Arg(3)->Unit(benchmark::kMillisecond)->UseRealTime();
