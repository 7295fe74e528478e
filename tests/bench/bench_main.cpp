// ptq_bench: all Google Benchmarks of the harness in one binary, with provenance in the JSON context.
// Run: build/bin/ptq_bench --benchmark_out=bench.json --benchmark_out_format=json
//      (PTQ_THREADS=N to use N threads instead of all cores)
#include "run/runtime.h"

#include <benchmark/benchmark.h>
#include <c10/core/Device.h>

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  ptq::reexec_with_openmp_env(argv);
  ptq::tune_malloc();
  ptq::configure_threads(std::getenv("PTQ_THREADS") ? std::atoi(std::getenv("PTQ_THREADS")) : 0);
  const auto env = ptq::environment_info(c10::Device(c10::kCPU));
  for (const char* key : {"harness_version", "git_sha", "libtorch_version", "device_name"})
    benchmark::AddCustomContext(key, env[key].get<std::string>());
  benchmark::AddCustomContext("threads", std::to_string(env["threads"].get<int>()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
