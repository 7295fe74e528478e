// The `ptqbench` subcommands. Each registers itself on the CLI11 app; errors are thrown (InputError for
// bad input) and turned into one line + exit code by main.cpp.
#pragma once

namespace CLI {
class App;
}

namespace ptq::cli {

void add_info_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_pack_command(CLI::App& app);
void add_ls_command(CLI::App& app);
void add_make_tiny_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_ingest_command(CLI::App& app);
void add_slurm_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_regress_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);

}  // namespace ptq::cli
