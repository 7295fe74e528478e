// safetensors header parsing (io/safetensors_header.h) against the number of tensors: 1k, 4k, 16k, 64k
// entries, with the fitted complexity. It must be linear (issue #29: nlohmann's DOM callback parser took
// over 60 s for 64 000 tensors; the format allows that many, a hostile 100 MB header more).
//   build/bin/ptq_bench --benchmark_filter=SafetensorsHeader
#include "harness/io/safetensors_header.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <string>
#include <vector>

namespace {

// A whole file in memory: n F16 tensors of shape [4, 8] named as a Llama checkpoint names them, data zeros.
std::vector<uint8_t> synthetic_file(int64_t n) {
  std::string header = R"({"__metadata__":{"format":"pt"})";
  for (int64_t i = 0; i < n; ++i)
    header += fmt::format(R"(,"model.layers.{}.self_attn.q_proj.weight":{{"dtype":"F16","shape":[4,8],"data_offsets":[{},{}]}})",
                          i, 64 * i, 64 * (i + 1));
  header += "}";
  std::vector<uint8_t> file(8 + header.size() + 64 * static_cast<size_t>(n), 0);
  for (int b = 0; b < 8; ++b) file[static_cast<size_t>(b)] = static_cast<uint8_t>((header.size() >> (8 * b)) & 0xFF);
  std::copy(header.begin(), header.end(), file.begin() + 8);
  return file;
}

void BM_SafetensorsHeader(benchmark::State& state) {
  const std::vector<uint8_t> file = synthetic_file(state.range(0));
  for (auto _ : state) {
    auto header = ptq::io::parse_safetensors_header(file.data(), file.size(), "bench.safetensors");
    benchmark::DoNotOptimize(header.tensors.data());
  }
  state.SetComplexityN(state.range(0));
  state.counters["tensors/s"] = benchmark::Counter(static_cast<double>(state.range(0)), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_SafetensorsHeader)->Arg(1000)->Arg(4000)->Arg(16000)->Arg(64000)->Unit(benchmark::kMillisecond)->Complexity(benchmark::oN);
