#include "harness/util/numerics.h"

#include "harness/util/errors.h"
#include "harness/util/hardware_info.h"
#include "harness/util/runtime.h"
#include "harness/util/tiled_gemm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace ptq {

namespace {

char** g_argv = nullptr;
std::optional<NumericsMode> g_entered;
int g_threads_requested = 0;

// Set by the re-exec, so that a process that still lacks the pins afterwards says why instead of looping.
constexpr const char* kReexecMarker = "PTQ_NUMERICS_REEXEC";

std::string env_or_empty(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? v : "";
}

std::string pins_text() {
  std::string s;
  for (const auto& [name, value] : reproducible_pins()) s += fmt::format("{}{}={}", s.empty() ? "" : " ", name, value);
  return s;
}

[[noreturn]] void refuse(const std::string& why) {
  throw EnvironmentError(fmt::format("reproducible numerics unavailable: {} (or use --numerics native / \"numerics\": \"native\")", why));
}

// Re-executes this process with the pins in its environment. Returns only by throwing.
[[noreturn]] void reexec_with_pins() {
  if (std::getenv("PTQ_NO_REEXEC"))
    refuse(fmt::format("PTQ_NO_REEXEC is set, so ptqbench cannot restart itself with {}: set them yourself before "
                       "starting it, or unset PTQ_NO_REEXEC", pins_text()));
  if (std::getenv(kReexecMarker))
    refuse(fmt::format("the process restarted itself with {} but they are not in its environment", pins_text()));
  if (g_argv == nullptr) refuse(fmt::format("this program cannot restart itself: start it with {}", pins_text()));
  for (const auto& [name, value] : reproducible_pins()) ::setenv(name.c_str(), value.c_str(), 1);
  ::setenv(kReexecMarker, "1", 1);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execv("/proc/self/exe", g_argv);
  refuse(fmt::format("cannot restart /proc/self/exe with {}: {}", pins_text(), std::strerror(errno)));
}

bool cpu_has(const char* flag) {
  for (const auto& f : cpu_info().at("isa"))
    if (f == flag) return true;
  return false;
}

// Every pin must show in what the libraries report, and LibTorch's sgemm_ calls must reach util/tiled_gemm.
void verify_pins() {
  const std::string capability = aten_cpu_capability();
  if (capability != "AVX2") {
    if (!cpu_has("avx2") || !cpu_has("fma")) refuse("this CPU has no AVX2 and FMA, the kernel level the mode pins");
    refuse(fmt::format("LibTorch dispatches to {} kernels although ATEN_CPU_CAPABILITY={}", capability,
                       env_or_empty("ATEN_CPU_CAPABILITY")));
  }
  const std::string core = openblas_core();
  if (core.empty())
    refuse(fmt::format("the BLAS LibTorch calls ({}) is not OpenBLAS, whose kernel choice the mode pins (Debian: install "
                       "libopenblas0-pthread and select it for libblas.so.3 with update-alternatives)",
                       gemm::real_blas_library()));
  if (core != "Haswell")
    refuse(fmt::format("OpenBLAS selected its {} kernels although OPENBLAS_CORETYPE={} (an OpenBLAS built without "
                       "DYNAMIC_ARCH?)", core, env_or_empty("OPENBLAS_CORETYPE")));
  if (openblas_threads() != 1)
    refuse(fmt::format("OpenBLAS runs {} threads although OPENBLAS_NUM_THREADS={}", openblas_threads(),
                       env_or_empty("OPENBLAS_NUM_THREADS")));
  const int64_t before = gemm::calls_seen();
  (void)at::mm(at::ones({16, 16}), at::ones({16, 16}));
  if (gemm::calls_seen() == before)
    refuse("LibTorch's matrix products do not go through ptqbench's fixed-tile sgemm_ (a LibTorch that carries its "
           "own BLAS?)");
}

// On CUDA: deterministic algorithms, full-precision fp32 matrix products, no reduced-precision fp16
// reductions. Only the same GPU model and software stack give the same digits.
void pin_cuda_settings() {
  auto& ctx = at::globalContext();
  ctx.setDeterministicAlgorithms(true, /*warn_only=*/false);
  ctx.setDeterministicCuDNN(true);
  ctx.setBenchmarkCuDNN(false);
  ctx.setAllowTF32CuDNN(false);
  ctx.setFloat32MatmulPrecision("highest");
  ctx.setAllowFP16ReductionCuBLAS(false);
}

}  // namespace

NumericsMode parse_numerics(const std::string& name, const std::string& where) {
  if (name == "native") return NumericsMode::kNative;
  if (name == "reproducible") return NumericsMode::kReproducible;
  throw InputError(fmt::format("{}: unknown numerics mode \"{}\", expected native or reproducible", where, name));
}

const char* numerics_name(NumericsMode mode) { return mode == NumericsMode::kReproducible ? "reproducible" : "native"; }

void remember_command_line(int /*argc*/, char** argv) { g_argv = argv; }

const std::vector<std::pair<std::string, std::string>>& reproducible_pins() {
  static const std::vector<std::pair<std::string, std::string>> pins = {
      {"ATEN_CPU_CAPABILITY", "avx2"},     // LibTorch's kernels: AVX2 on every x86-64 machine that has it
      {"OPENBLAS_CORETYPE", "Haswell"},    // OpenBLAS's AVX2 + FMA kernels, whatever CPU it detects
      {"OPENBLAS_NUM_THREADS", "1"},       // one thread per call: util/tiled_gemm.h parallelises over fixed tiles
      {"ONEDNN_MAX_CPU_ISA", "AVX2"},      // oneDNN (bf16 products on the CPU) at the same level
      {"CUBLAS_WORKSPACE_CONFIG", ":4096:8"},  // what deterministic cuBLAS needs (CUDA only)
  };
  return pins;
}

bool pins_in_environment() {
  for (const auto& [name, value] : reproducible_pins())
    if (env_or_empty(name) != value) return false;
  return true;
}

void enter_numerics(NumericsMode mode) {
  if (g_entered) {
    if (*g_entered != mode)
      throw std::logic_error(fmt::format("numerics: this process runs in {} mode, a {} computation cannot join it",
                                         numerics_name(*g_entered), numerics_name(mode)));
    return;
  }
  if (mode == NumericsMode::kReproducible) {
    if (!pins_in_environment()) reexec_with_pins();
    ::unsetenv(kReexecMarker);  // children started from here decide for themselves
    verify_pins();
    gemm::set_tiled(true, 1);
    pin_cuda_settings();
  }
  g_entered = mode;
}

NumericsMode current_numerics() { return g_entered.value_or(NumericsMode::kNative); }

int apply_thread_policy(int threads) {
  const int n = threads > 0 ? threads : available_cpus();
  g_threads_requested = n;
  if (current_numerics() == NumericsMode::kReproducible) {
    at::set_num_threads(1);
    gemm::set_tiled(true, n);
  } else {
    at::set_num_threads(n);
  }
  return n;
}

nlohmann::json numerics_provenance() {
  nlohmann::json pins = nlohmann::json::object();
  for (const auto& [name, value] : reproducible_pins()) {
    (void)value;
    const char* v = std::getenv(name.c_str());
    pins[name] = v ? nlohmann::json(v) : nlohmann::json(nullptr);
  }
  return {{"mode", numerics_name(current_numerics())},
          {"pins", pins},
          {"cpu", cpu_info()},
          {"libtorch", libtorch_info()},
          {"blas", blas_info()},
          {"gemm", gemm::describe()},
          {"toolchain", toolchain_info()},
          {"threads",
           {{"requested", g_threads_requested},
            {"libtorch_intra_op", at::get_num_threads()},
            {"blas", openblas_threads()},
            {"gemm_tiles", gemm::tile_threads()}}}};
}

std::string numerics_summary(const nlohmann::json& p) {
  if (!p.is_object() || !p.contains("mode")) return "unknown (recorded before numerics provenance)";
  const auto str = [&](std::initializer_list<const char*> path) {
    const nlohmann::json* cur = &p;
    for (const char* k : path) {
      if (!cur->is_object() || !cur->contains(k)) return std::string("?");
      cur = &(*cur)[k];
    }
    return cur->is_string() ? cur->get<std::string>() : cur->dump();
  };
  const std::string kernels = fmt::format("{} kernels, {} {}", str({"libtorch", "cpu_capability"}), str({"blas", "vendor"}),
                                          str({"blas", "core"}));
  if (str({"mode"}) == "reproducible") return fmt::format("reproducible ({}, fixed tiles)", kernels);
  return fmt::format("native ({} x{}, LibTorch x{} threads)", kernels, str({"threads", "blas"}),
                     str({"threads", "libtorch_intra_op"}));
}

}  // namespace ptq
