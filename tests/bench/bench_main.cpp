// ptq_bench: all Google Benchmarks of the harness in one binary, with provenance in the JSON context.
// Run: build/bin/ptq_bench --benchmark_out=bench.json --benchmark_out_format=json
//      (PTQ_THREADS=N to use N threads instead of all cores; PTQ_BENCH_NUMERICS=reproducible measures the
//      pinned kernels and fixed-tile gemm of reproducible numerics instead of the machine's own)
#include "harness/util/numerics.h"
#include "harness/util/runtime.h"

#include <benchmark/benchmark.h>
#include <c10/core/Device.h>

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  ptq::remember_command_line(argc, argv);
  ptq::reexec_with_openmp_env(argv);
  ptq::tune_malloc();
  const char* numerics = std::getenv("PTQ_BENCH_NUMERICS");
  ptq::enter_numerics(ptq::parse_numerics(numerics ? numerics : "native", "PTQ_BENCH_NUMERICS"));
  ptq::configure_threads(std::getenv("PTQ_THREADS") ? std::atoi(std::getenv("PTQ_THREADS")) : 0);
  const auto env = ptq::environment_info(c10::Device(c10::kCPU));
  for (const char* key : {"harness_version", "git_sha", "libtorch_version", "device_name"})
    benchmark::AddCustomContext(key, env[key].get<std::string>());
  benchmark::AddCustomContext("threads", std::to_string(env["threads"].get<int>()));
  benchmark::AddCustomContext("numerics", ptq::numerics_summary(env["numerics"]));
  benchmark::AddCustomContext("cpu", env["numerics"]["cpu"]["model"].get<std::string>());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
