// ptqbench: the command-line entry point. Exit codes (util/exit_codes.h, the table in docs/cli.md): 0 success,
// 1 internal failure (a bug), 2 bad usage or input, 3 `regress` found a regression or `run` had failed cells,
// 4 another worker holds the cell, 5 stopped with its state saved (requeue), 6 the environment cannot do
// what was asked (locked database, read-only directory, disk full, reproducible numerics without OpenBLAS).
#include "harness/cli/choices.h"
#include "harness/cli/commands.h"
#include "harness/io/files.h"
#include "harness/pipeline/plugins.h"
#include "harness/util/errors.h"
#include "harness/util/exit_codes.h"
#include "harness/util/numerics.h"
#include "harness/util/runtime.h"
#include "harness/util/text.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <clocale>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace {

// c10::Error messages carry a multi-line backtrace; the first line is the message.
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::vector<std::string> command_names(CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

// The global options before the command word: `--plugin PATH` (or --plugin=PATH), repeatable. Returns the
// plugin paths; *command the index of the command word (argc when there is none).
std::vector<std::string> global_plugins(int argc, char** argv, int* command) {
  std::vector<std::string> paths;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--plugin" && i + 1 < argc) {
      paths.emplace_back(argv[++i]);
    } else if (arg.rfind("--plugin=", 0) == 0) {
      paths.push_back(arg.substr(9));
    } else if (arg.empty() || arg[0] != '-') {
      break;
    }
  }
  *command = i;
  return paths;
}

// Plugins load before the commands are built, so that their help and checks know the plugins' methods and
// tasks: PTQBENCH_PLUGINS first, then each --plugin in order.
void load_startup_plugins(int argc, char** argv) {
  int command = 0;
  const std::vector<std::string> paths = global_plugins(argc, argv, &command);
  ptq::plugin::load_plugins_from_environment();
  for (const auto& p : paths) ptq::plugin::load_plugin(p, "--plugin");
}

// `ptqbench evall`: CLI11 would say "A subcommand is required"; name the word and the closest command.
void check_command_word(CLI::App& app, int argc, char** argv) {
  int command = 0;
  global_plugins(argc, argv, &command);
  if (command >= argc || argv[command][0] == '-') return;
  const std::vector<std::string> names = command_names(app);
  if (std::find(names.begin(), names.end(), argv[command]) == names.end())
    throw ptq::InputError(ptq::cli::unknown_name_message("", "command", argv[command], names));
}

// `ptqbench help [COMMAND]`: the root help, or one command's.
void add_help_command(CLI::App& app) {
  auto topic = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("help", "Show the commands, or one command's options (ptqbench help eval)");
  cmd->add_option("command", *topic, "A command");
  cmd->callback([&app, topic] {
    // app.help() would show the help of the command parsed last: this one.
    if (topic->empty()) return fmt::print("{}", app.get_formatter()->make_help(&app, "ptqbench", CLI::AppFormatMode::Normal));
    ptq::cli::require_known("ptqbench help", "command", *topic, command_names(app));
    fmt::print("{}", app.get_subcommand(*topic)->help("ptqbench"));
  });
}

// Where a parse error's reader finds the options: the subcommand being parsed, else the root.
std::string help_hint(CLI::App& app) {
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  return parsed.empty() ? "ptqbench --help" : fmt::format("ptqbench {} --help", parsed.front()->get_name());
}

// "--tasks": CLI11 says only that it was not expected (or, first, that --task is missing); suggest the
// subcommand's closest option.
std::string option_hint(CLI::App& app) {
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  if (parsed.empty()) return "";
  std::vector<std::string> known;
  for (const CLI::Option* opt : parsed.front()->get_options())
    for (const auto& l : opt->get_lnames()) known.push_back("--" + l);
  for (const auto& extra : parsed.front()->remaining())
    if (extra.rfind("--", 0) == 0) {
      const std::string hint = ptq::closest_match(extra.substr(0, extra.find('=')), known);
      if (!hint.empty()) return fmt::format("; '{}' is not an option, did you mean '{}'?", extra, hint);
    }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  ptq::remember_command_line(argc, argv);  // for the re-exec of reproducible numerics (util/numerics.h)
  ptq::reexec_with_openmp_env(argv);
  ptq::tune_malloc();
  std::setlocale(LC_NUMERIC, "C");  // decimals print with a dot whatever the user's locale
  std::signal(SIGXFSZ, SIG_IGN);     // a file size limit (ulimit -f) is a write error naming the file, not a core dump
  try {
    load_startup_plugins(argc, argv);
  } catch (const ptq::InputError& e) {
    fmt::print(stderr, "ptqbench: error: {}\n", first_line(e.what()));
    return ptq::kExitInput;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ptqbench: internal error: {}\n", first_line(e.what()));
    return ptq::kExitInternal;
  }
  CLI::App app{"ptqbench: post-training quantization benchmark harness for Llama-family LLMs"};
  app.add_flag_callback("--version", [] {
    fmt::print("ptqbench {}\n", ptq::harness_version());
    throw CLI::Success();
  }, "Print the version and exit");
  // Read before the commands are built (load_startup_plugins); declared here for --help and the parser.
  std::vector<std::string> plugin_paths;
  app.add_option("--plugin", plugin_paths,
                 "Load a method/evaluator plugin (a .so built against ptqbench::core; docs/plugins.md) before the "
                 "command; repeatable. PTQBENCH_PLUGINS=a.so:b.so does the same")
      ->allow_extra_args(false)
      ->type_name("PATH.so");
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
  ptq::cli::add_pack_command(app);
  ptq::cli::add_ls_command(app);
  ptq::cli::add_tokenize_command(app);
  ptq::cli::add_import_command(app);
  ptq::cli::add_make_tiny_command(app);
  add_help_command(app);
  try {
    check_command_word(app, argc, argv);
    // A debugging hook: the one way to see the exit code of a genuine internal error (tests, scripts).
    if (const char* e = std::getenv("PTQBENCH_DEBUG_INTERNAL_ERROR"); e != nullptr && std::string(e) == "1")
      throw std::logic_error("PTQBENCH_DEBUG_INTERNAL_ERROR=1: a deliberate internal error");
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fmt::print(stderr, "ptqbench: error: {}{} (see {})\n", e.what(), option_hint(app), help_hint(app));
    return ptq::kExitInput;
  } catch (const ptq::InputError& e) {
    fmt::print(stderr, "ptqbench: error: {}\n", first_line(e.what()));
    return ptq::kExitInput;
  } catch (const ptq::EnvironmentError& e) {
    fmt::print(stderr, "ptqbench: error: {}\n", first_line(e.what()));
    return ptq::kExitEnvironment;
  } catch (const std::filesystem::filesystem_error& e) {
    // create_directories and friends under a read-only or full disk: the machine's, not a bug.
    if (!ptq::io::is_environment_errno(e.code().value())) {
      fmt::print(stderr, "ptqbench: internal error: {}\n", first_line(e.what()));
      return ptq::kExitInternal;
    }
    try {
      ptq::io::throw_write_error(e.path1().string(), e.code().value());
    } catch (const ptq::EnvironmentError& env) {
      fmt::print(stderr, "ptqbench: error: {}\n", env.what());
    }
    return ptq::kExitEnvironment;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ptqbench: internal error: {}\n", first_line(e.what()));
    return ptq::kExitInternal;
  }
  return ptq::kExitOk;
}
