// `ptqbench report` (paper-style tables from the database) and `ptqbench regress` (compare with a stored
// baseline; exit 3 listing every metric that got worse beyond tolerance).
#include "cli/commands.h"
#include "io/files.h"
#include "report/regress.h"
#include "report/render.h"
#include "report/report_table.h"
#include "store/results_db.h"
#include "util/errors.h"
#include "util/text.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

namespace ptq::cli {

namespace {

constexpr int kExitRegressed = 3;

struct ReportOptions {
  std::string db = "results/ptqbench.db";
  std::vector<std::string> experiments;
  std::string format = "md";
  std::string metrics;
  int digits = -1;
  std::string out;
};

void run_report(const ReportOptions& o) {
  const report::Format format = report::parse_format(o.format);
  std::vector<std::string> metrics;
  for (size_t pos = 0; pos < o.metrics.size();) {
    size_t end = o.metrics.find(',', pos);
    if (end == std::string::npos) end = o.metrics.size();
    if (end > pos) metrics.push_back(o.metrics.substr(pos, end - pos));
    pos = end + 1;
  }
  store::ResultsDb db(o.db, /*read_only=*/true);
  const std::vector<std::string> names = o.experiments.empty() ? report::experiments(db) : o.experiments;
  if (names.empty()) throw InputError(fmt::format("{} holds no runs yet (ptqbench ingest)", o.db));
  std::vector<report::ReportTable> tables;
  for (const auto& n : names) tables.push_back(report::build_report(db, n, metrics));
  report::RenderOptions ro;
  ro.digits = o.digits;
  const std::string text = report::render(tables, format, ro);
  if (o.out.empty()) fmt::print("{}", text);
  else io::write_file_atomic(o.out, text);
}

struct RegressOptions {
  std::string db = "results/ptqbench.db";
  std::string baseline, experiment, tolerance;
  bool update = false, verbose = false;
};

int run_regress(const RegressOptions& o) {
  store::ResultsDb db(o.db, /*read_only=*/true);
  if (o.update) {
    report::Tolerance tol;
    std::string experiment = o.experiment;
    if (io::file_exists(o.baseline)) {
      const auto old = report::read_baseline(o.baseline);
      if (experiment.empty()) experiment = old["experiment"].get<std::string>();
      if (old.contains("tolerance")) {
        tol.ppl_rel = old["tolerance"].value("ppl", tol.ppl_rel);
        tol.acc_abs = old["tolerance"].value("acc", tol.acc_abs);
      }
    }
    if (experiment.empty()) throw InputError("--update of a new baseline needs --experiment NAME");
    if (!o.tolerance.empty()) tol = report::parse_tolerance(o.tolerance, tol);
    const auto doc = report::make_baseline(db, experiment, tol);
    io::write_file_atomic(o.baseline, doc.dump(2) + "\n");
    fmt::print("wrote {} ({} metrics of experiment {})\n", o.baseline, doc["metrics"].size(), experiment);
    return 0;
  }
  const auto baseline = report::read_baseline(o.baseline);
  report::Tolerance tol;
  std::unique_ptr<report::Tolerance> override_tol;
  if (!o.tolerance.empty()) {
    if (baseline.contains("tolerance")) {
      tol.ppl_rel = baseline["tolerance"].value("ppl", tol.ppl_rel);
      tol.acc_abs = baseline["tolerance"].value("acc", tol.acc_abs);
    }
    override_tol = std::make_unique<report::Tolerance>(report::parse_tolerance(o.tolerance, tol));
  }
  const auto result = report::regress(db, baseline, override_tol.get());
  int improved = 0;
  for (const auto& f : result.findings) {
    improved += f.kind == report::Finding::kImproved;
    if (o.verbose || f.kind != report::Finding::kWithin) fmt::print("{}\n", f.describe(result.tolerance));
  }
  const int bad = result.regressions();
  fmt::print("{}: {} metrics, {} regressed or missing, {} improved (tolerance: ppl {:g}%, accuracy {:g} points)\n",
             o.baseline, result.findings.size(), bad, improved, 100 * result.tolerance.ppl_rel, result.tolerance.acc_abs);
  if (improved > 0 && bad == 0) fmt::print("(to accept the improvements: ptqbench regress --baseline {} --update)\n", o.baseline);
  return bad > 0 ? kExitRegressed : 0;
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "Paper-style tables from the results database, beside the papers' numbers");
  cmd->add_option("--db", o->db, "SQLite database")->capture_default_str();
  cmd->add_option("--experiment", o->experiments, "Experiment name(s) (default: all in the database)");
  cmd->add_option("--format", o->format, "md, latex, csv or html")->capture_default_str();
  cmd->add_option("--metrics", o->metrics, "Comma-separated columns, e.g. wikitext2_ppl,c4_ppl,zeroshot_avg (default: all)");
  cmd->add_option("--digits", o->digits, "Decimals (default: 2, more where 2 would hide a difference)");
  cmd->add_option("-o,--out", o->out, "Write to this file (atomically) instead of stdout");
  cmd->callback([o] { run_report(*o); });
}

void add_regress_command(CLI::App& app) {
  auto o = std::make_shared<RegressOptions>();
  auto* cmd = app.add_subcommand("regress", "Compare current results with a stored baseline; exit 3 on regressions");
  cmd->add_option("--baseline", o->baseline, "Baseline file (results/baselines/NAME.json)")->required();
  cmd->add_option("--db", o->db, "SQLite database")->capture_default_str();
  cmd->add_option("--tolerance", o->tolerance, "ppl=FRACTION,acc=POINTS (default: the baseline's, else ppl=0.01,acc=1)");
  cmd->add_flag("--update", o->update, "Rewrite the baseline from the current results");
  cmd->add_option("--experiment", o->experiment, "With --update of a new baseline: the experiment it covers");
  cmd->add_flag("-v,--verbose", o->verbose, "List every metric, not only regressions and improvements");
  cmd->callback([o] {
    const int rc = run_regress(*o);
    if (rc != 0) std::exit(rc);
  });
}

}  // namespace ptq::cli
