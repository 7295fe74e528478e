// ptqbench: the command-line entry point. Exit codes: 0 success, 2 bad input, 6 the environment cannot do
// what was asked (e.g. reproducible numerics without OpenBLAS), 1 internal failure; 3-5 from `run`/`regress`.
#include "harness/cli/commands.h"
#include "harness/util/errors.h"
#include "harness/util/numerics.h"
#include "harness/util/runtime.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <clocale>

namespace {

// c10::Error messages carry a multi-line backtrace; the first line is the message.
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  ptq::remember_command_line(argc, argv);  // for the re-exec of reproducible numerics (util/numerics.h)
  ptq::reexec_with_openmp_env(argv);
  ptq::tune_malloc();
  std::setlocale(LC_NUMERIC, "C");  // decimals print with a dot whatever the user's locale
  CLI::App app{"ptqbench: post-training quantization benchmark harness for Llama-family LLMs"};
  app.add_flag_callback("--version", [] {
    fmt::print("ptqbench {}\n", ptq::harness_version());
    throw CLI::Success();
  }, "Print the version and exit");
  app.require_subcommand(1);
  ptq::cli::add_run_command(app);
  ptq::cli::add_plan_command(app);
  ptq::cli::add_ingest_command(app);
  ptq::cli::add_slurm_command(app);
  ptq::cli::add_report_command(app);
  ptq::cli::add_regress_command(app);
  ptq::cli::add_export_command(app);
  ptq::cli::add_info_command(app);
  ptq::cli::add_eval_command(app);
  ptq::cli::add_quantize_command(app);
  ptq::cli::add_ls_command(app);
  ptq::cli::add_tokenize_command(app);
  ptq::cli::add_import_command(app);
  ptq::cli::add_make_tiny_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fmt::print(stderr, "ptqbench: error: {} (see ptqbench --help)\n", e.what());
    return 2;
  } catch (const ptq::InputError& e) {
    fmt::print(stderr, "ptqbench: error: {}\n", first_line(e.what()));
    return 2;
  } catch (const ptq::EnvironmentError& e) {
    fmt::print(stderr, "ptqbench: error: {}\n", first_line(e.what()));
    return ptq::kExitEnvironment;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ptqbench: internal error: {}\n", first_line(e.what()));
    return 1;
  }
  return 0;
}
