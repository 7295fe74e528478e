// A streamed OmniQuant W4A4 run (LWC + LET, the engine's precision policy) over the first few blocks of a
// LLaMA-2-70B-shaped checkpoint (hidden 8192, intermediate 28672, 64 heads, 8 KV heads; random fp16
// weights written to disk once, 1.7 GB per block): blocks read from the mmap'd safetensors one at a
// time, quantized blocks spilled, then the peak memory of the run - GPU (CUDA caching allocator) and
// host (peak RSS, reset at the start) - against the 140 GB the 80-layer model takes in fp16.
//   PTQ_BENCH_STREAM_LAYERS  blocks in the checkpoint (default 4 on CUDA; the CPU runs it only when set)
//   PTQ_BENCH_STREAM_WINDOWS calibration windows (default 16 on CUDA, 1 on the CPU)
//   PTQ_BENCH_STREAM_SEQLEN  tokens per window (default 2048 on CUDA, 64 on the CPU)
//   PTQ_BENCH_TMP            where the checkpoint and the spill files go (default /var/tmp)
#include "harness/io/safetensors.h"
#include "harness/model/checkpoint.h"
#include "harness/ptq/quant_setting.h"
#include "harness/recon/block_recon.h"
#include "methods/omniquant/omni_parts.h"
#include "tests/bench/bench_blocks.h"

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sys/resource.h>

#ifdef PTQ_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : fallback;
}

ptq::LlamaConfig llama70b_config(int64_t layers) {
  ptq::LlamaConfig c = ptq::bench::llama7b_block_config();
  c.hidden_size = 8192;
  c.intermediate_size = 28672;
  c.num_attention_heads = 64;
  c.num_key_value_heads = 8;
  c.head_dim = 128;
  c.vocab_size = 32000;
  c.max_position_embeddings = 4096;
  c.num_hidden_layers = layers;
  return c;
}

// config.json + model.safetensors with random fp16 weights, each tensor made when the writer needs it.
void write_random_checkpoint(const std::string& dir, const ptq::LlamaConfig& c) {
  fs::create_directories(dir);
  std::vector<ptq::io::LazyTensor> tensors;
  for (const auto& [name, shape] : ptq::expected_tensors(c)) {
    const bool norm = name.find("norm") != std::string::npos;
    const auto s = shape;
    tensors.push_back({name, at::kHalf, shape, [s, norm] {
                         return norm ? at::ones(s, at::kHalf) : (at::randn(s, at::kFloat) * 0.02).to(at::kHalf);
                       }});
  }
  ptq::io::write_safetensors_lazy(dir + "/model.safetensors", std::move(tensors));
  auto json = c.to_json();
  json["torch_dtype"] = "float16";
  std::ofstream(dir + "/config.json") << json.dump(2);
}

double peak_rss_gb() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);
}

void reset_peaks(c10::Device device) {
  std::ofstream("/proc/self/clear_refs") << "5";  // resets the peak RSS (Linux >= 4.0)
#ifdef PTQ_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
#else
  (void)device;
#endif
}

double peak_gpu_gb(c10::Device device) {
#ifdef PTQ_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    return static_cast<double>(stats.allocated_bytes[0].peak) / double(1ull << 30);  // [0]: StatType::AGGREGATE
  }
#else
  (void)device;
#endif
  return 0.0;
}

void BM_Llama70BStreamedOmniQuantW4A4(benchmark::State& state) {
  const auto device = ptq::bench::bench_device();
  const auto dtype = ptq::bench::bench_dtype();
  const bool cuda = device.is_cuda();
  if (!cuda && std::getenv("PTQ_BENCH_STREAM_LAYERS") == nullptr) {  // ~20 GB of fp32 autograd state per block
    state.SkipWithError("a GPU benchmark (PTQ_BENCH_DEVICE=cuda); set PTQ_BENCH_STREAM_LAYERS to run it on the CPU");
    for (auto _ : state) {
    }
    return;
  }
  const int64_t layers = env_int("PTQ_BENCH_STREAM_LAYERS", cuda ? 4 : 2);
  const int64_t windows = env_int("PTQ_BENCH_STREAM_WINDOWS", cuda ? 16 : 1);
  const int64_t seqlen = env_int("PTQ_BENCH_STREAM_SEQLEN", cuda ? 2048 : 64);
  const ptq::LlamaConfig c = llama70b_config(layers);
  const std::string root = std::getenv("PTQ_BENCH_TMP") != nullptr ? std::getenv("PTQ_BENCH_TMP") : "/var/tmp";
  const std::string dir = fmt::format("{}/ptq_bench_llama70b_{}l", root, layers);
  if (!fs::exists(dir + "/model.safetensors")) write_random_checkpoint(dir, c);  // reused between runs

  const auto setting = ptq::quant::QuantSetting::parse("W4A4");
  ptq::recon::ReconOptions o;
  o.epochs = 1;
  o.batch_size = 1;
  o.progress = false;
  o.precision = ptq::recon::precision_policy(setting, device, dtype);
  ptq::methods::LetOptions let;
  let.enabled = true;
  const auto factory = [&](const ptq::recon::BlockInputs& in) {
    return ptq::methods::make_omni_parts(in, setting.weight_spec(), {}, let);
  };
  const at::Tensor calib = at::randint(0, c.vocab_size, {windows, seqlen}, at::kLong);
  double seconds = 0;
  for (auto _ : state) {
    reset_peaks(device);
    const auto t0 = std::chrono::steady_clock::now();
    ptq::LoadOptions lo{dtype, device, /*stream=*/true, dir + "/spill"};
    ptq::LlamaModel m = ptq::load_llama(dir, lo);
    ptq::quant::apply_activation_quant(m, setting);
    const auto report = ptq::recon::reconstruct(m, calib, factory, o);
    benchmark::DoNotOptimize(report.units.back().log.last_epoch_loss);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  fs::remove_all(dir + "/spill");
  int64_t block_params = 0;
  for (const auto& [name, shape] : ptq::expected_tensors(c))
    if (name.rfind("model.layers.0.", 0) == 0) {
      int64_t n = 1;
      for (const int64_t d : shape) n *= d;
      block_params += n;
    }
  state.counters["blocks"] = static_cast<double>(layers);
  state.counters["tokens"] = static_cast<double>(windows * seqlen);
  state.counters["s_per_block"] = seconds / static_cast<double>(layers);
  state.counters["block_fp16_gb"] = static_cast<double>(block_params) * 2 / double(1ull << 30);
  state.counters["model80_fp16_gb"] = static_cast<double>(block_params) * 80 * 2 / double(1ull << 30);
  state.counters["peak_gpu_gb"] = peak_gpu_gb(device);
  state.counters["peak_rss_gb"] = peak_rss_gb();
}
BENCHMARK(BM_Llama70BStreamedOmniQuantW4A4)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
