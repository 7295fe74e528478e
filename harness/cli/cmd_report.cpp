// `ptqbench report` (paper-style tables from the database) and `ptqbench regress` (compare with a stored
// baseline; exit 3 listing every metric that got worse beyond tolerance).
#include "evaluators/evaluator.h"
#include "harness/cli/choices.h"
#include "harness/cli/commands.h"
#include "harness/io/files.h"
#include "harness/report/regress.h"
#include "harness/report/render.h"
#include "harness/report/report_table.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "harness/util/exit_codes.h"
#include "harness/util/text.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>

namespace ptq::cli {

namespace {

constexpr int kExitRegressed = kExitFailed;  // util/exit_codes.h

struct ReportOptions {
  std::string db = "results/ptqbench.db";
  std::vector<std::string> experiments;
  std::string format = "md";
  std::string metrics;
  int digits = -1;
  bool no_costs = false;
  std::string out;
};

// Every metric a registered evaluator produces, and the zero-shot average: what --metrics may name.
std::vector<std::string> known_metrics() {
  std::vector<std::string> known;
  for (const auto& info : eval::evaluators().all())
    for (const auto& m : info.metrics) known.push_back(m.name);
  known.push_back(eval::kZeroShotAverage);
  return known;
}

// An experiment the database does not hold is an error naming the ones it does.
void require_experiments(store::ResultsDb& db, const std::vector<std::string>& names) {
  const std::vector<std::string> known = report::experiments(db);
  for (const auto& n : names) require_known("--experiment", fmt::format("experiment in {}", db.path()), n, known);
}

void run_report(const ReportOptions& o) {
  check_report_format(o.format);
  const report::Format format = report::parse_format(o.format);
  std::vector<std::string> metrics;
  for (size_t pos = 0; pos < o.metrics.size();) {
    size_t end = o.metrics.find(',', pos);
    if (end == std::string::npos) end = o.metrics.size();
    if (end > pos) metrics.push_back(o.metrics.substr(pos, end - pos));
    pos = end + 1;
  }
  for (const auto& m : metrics) require_known("--metrics", "metric", m, known_metrics());  // before opening the database
  store::ResultsDb db(o.db, /*read_only=*/true);
  std::vector<report::ReportTable> tables;
  try {
    require_experiments(db, o.experiments);
    const std::vector<std::string> names = o.experiments.empty() ? report::experiments(db) : o.experiments;
    if (names.empty()) throw InputError(fmt::format("{} holds no runs yet (ptqbench ingest)", o.db));
    for (const auto& n : names) tables.push_back(report::build_report(db, n, metrics));
  } catch (const std::exception& e) {
    db.raise(e, false);  // a lock held past the timeout mid-report is named as such; other errors pass as they are
  }
  // Wall times and memory differ from machine to machine: a table meant to be compared (the README's) omits them.
  if (o.no_costs)
    for (auto& t : tables) t.costs.clear();
  report::RenderOptions ro;
  ro.digits = o.digits;
  const std::string text = report::render(tables, format, ro);
  if (o.out.empty()) fmt::print("{}", text);
  else io::write_file_atomic(o.out, text);
}

struct RegressCommandOptions {
  std::string db = "results/ptqbench.db";
  std::string baseline, experiment, tolerance;
  double alpha = 0.01;
  bool update = false, verbose = false, exact = false;
};

int update_baseline(store::ResultsDb& db, const RegressCommandOptions& o) {
  report::Tolerance tol;
  std::string experiment = o.experiment;
  if (io::file_exists(o.baseline)) {
    const report::Baseline old = report::read_baseline(o.baseline);
    if (experiment.empty()) experiment = old.experiment;
    tol = old.tolerance.value_or(tol);
  }
  if (experiment.empty()) throw InputError("--update of a new baseline needs --experiment NAME");
  require_experiments(db, {experiment});
  if (!o.tolerance.empty()) tol = report::parse_tolerance(o.tolerance, tol);
  const auto doc = report::write_baseline(db, experiment, tol, o.baseline);
  fmt::print("wrote {} ({} metrics of experiment {}{})\n", o.baseline, doc["metrics"].size(), experiment,
             doc.contains("samples") ? ", per-example samples in " + doc["samples"]["file"].get<std::string>() : "");
  return 0;
}

int regress_with(store::ResultsDb& db, const RegressCommandOptions& o);

int run_regress(const RegressCommandOptions& o) {
  store::ResultsDb db(o.db, /*read_only=*/true);
  try {
    return regress_with(db, o);
  } catch (const std::exception& e) {
    db.raise(e, false);  // as in run_report
  }
}

int regress_with(store::ResultsDb& db, const RegressCommandOptions& o) {
  if (o.update) return update_baseline(db, o);
  const report::Baseline baseline = report::read_baseline(o.baseline);
  report::RegressOptions ro;
  ro.alpha = report::parse_alpha(o.alpha);
  ro.exact = o.exact;
  if (!o.tolerance.empty()) ro.tolerance = report::parse_tolerance(o.tolerance, baseline.tolerance.value_or(report::Tolerance{}));
  const auto result = report::regress(db, baseline, ro);
  for (const auto& n : result.notices) fmt::print("notice: {}\n", n);
  for (const auto& f : result.findings)
    if (o.verbose || f.kind != report::Finding::kWithin) fmt::print("{}\n", f.describe(result.tolerance, result.alpha));
  using F = report::Finding;
  const int bad = result.regressions();
  fmt::print("{}: {} metrics, {} regressed or missing{}, {} improved, {} beyond the tolerance but not significant "
             "(tolerance: ppl {:g}%, accuracy {:g} points; significance: alpha {:g}, Holm-corrected)\n",
             o.baseline, result.findings.size(), bad, o.exact ? fmt::format(" ({} differ in their digits)", result.count(F::kDiffers)) : "",
             result.count(F::kImproved), result.count(F::kNoise), 100 * result.tolerance.ppl_rel, result.tolerance.acc_abs,
             result.alpha);
  if (result.count(F::kImproved) > 0 && bad == 0)
    fmt::print("(to accept the improvements: ptqbench regress --baseline {} --update)\n", o.baseline);
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
  cmd->add_option("--digits", o->digits, "Decimals of our values (default: 2, as papers print perplexity and accuracy)");
  cmd->add_flag("--no-costs", o->no_costs, "Leave out the wall-time and memory table (machine-dependent)");
  cmd->add_option("-o,--out", o->out, "Write to this file (atomically) instead of stdout");
  cmd->callback([o] { run_report(*o); });
}

void add_regress_command(CLI::App& app) {
  auto o = std::make_shared<RegressCommandOptions>();
  auto* cmd = app.add_subcommand("regress", "Compare current results with a stored baseline (paired significance tests); exit 3 on regressions");
  cmd->add_option("--baseline", o->baseline, "Baseline file (results/baselines/NAME.json)")->required();
  cmd->add_option("--db", o->db, "SQLite database")->capture_default_str();
  cmd->add_option("--tolerance", o->tolerance, "ppl=FRACTION,acc=POINTS (default: the baseline's, else ppl=0.01,acc=1)");
  cmd->add_flag("--update", o->update, "Rewrite the baseline from the current results");
  cmd->add_option("--experiment", o->experiment, "With --update of a new baseline: the experiment it covers");
  cmd->add_option("--alpha", o->alpha, "Significance level of the (Holm-corrected) tests")->capture_default_str();
  cmd->add_flag("--exact", o->exact, "Require every value and per-example sample to equal the baseline's to the last digit");
  cmd->add_flag("-v,--verbose", o->verbose, "List every metric, not only regressions, improvements and noise");
  cmd->callback([o] {
    const int rc = run_regress(*o);
    if (rc != 0) std::exit(rc);
  });
}

}  // namespace ptq::cli
