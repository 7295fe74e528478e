// `ptqbench export`: the results database as lm-evaluation-harness v0.4 results JSON (one per run) or as
// a CSV / JSON lines table for notebooks. The formats live in harness/report/export*.h.
#include "harness/cli/commands.h"
#include "harness/cli/results_options.h"
#include "harness/report/export.h"
#include "harness/store/results_db.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

namespace ptq::cli {

namespace {

struct ExportCommandOptions {
  CommonOptions common;
  std::string format = "lm-eval";
  std::vector<std::string> experiments;
  std::string out;
};

void run_export(const ExportCommandOptions& o) {
  report::ExportOptions eo;
  eo.format = report::parse_export_format(o.format);
  eo.experiments = o.experiments;
  eo.out = o.out;
  store::ResultsDb db(o.common.db_path(), /*read_only=*/true);
  report::ExportSummary s;
  try {
    s = report::export_results(db, eo);
  } catch (const std::exception& e) {
    db.raise(e, false);  // a lock held past the timeout mid-export is named as such; other errors pass as they are
  }
  if (s.failed > 0) fmt::print(stderr, "ptqbench: notice: {} failed runs have no results and are not exported\n", s.failed);
  if (eo.format == report::ExportFormat::kLmEval)
    fmt::print("wrote {} lm-eval results files ({} runs) under {}\n", s.files.size(), s.runs, o.out);
  else
    fmt::print("wrote {} ({} rows from {} runs)\n", s.files.front(), s.rows, s.runs);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportCommandOptions>();
  auto* cmd = app.add_subcommand(
      "export", "Write results as lm-evaluation-harness v0.4 results JSON (one per run), or as a CSV / JSON lines table");
  cmd->add_option("--format", o->format, "lm-eval, csv or jsonl")->capture_default_str();
  add_common(cmd, o->common, false);
  cmd->add_option("--experiment", o->experiments, "Experiment name(s) (default: all in the database)");
  cmd->add_option("-o,--out", o->out,
                  "Output directory (csv/jsonl: DIR/results.csv|jsonl, or a FILE.csv / FILE.jsonl itself)")
      ->required();
  cmd->callback([o] { run_export(*o); });
}

}  // namespace ptq::cli
