// The experiment commands (DESIGN.md §1, §5):
//   ptqbench plan SPEC > plan.jsonl              expand the matrix into cells with run ids
//   ptqbench run --plan P --index I              run cells (a Slurm array task runs one index)
//   ptqbench ingest                              results/runs/*/result.json -> SQLite
//   ptqbench run SPEC                            all of it locally, then print the report
// Exit codes: 0 success, 2 bad input, 1 internal failure, 3 finished but some cells failed, 4 (one cell)
// another worker holds it, 5 (one cell) stopped by SIGTERM/SIGUSR1 with its state saved.
#include "harness/cli/choices.h"
#include "harness/cli/commands.h"
#include "harness/cli/results_options.h"
#include "harness/data/token_cache.h"
#include "harness/report/render.h"
#include "harness/report/report_table.h"
#include "harness/run/cell_runner.h"
#include "harness/run/experiment_spec.h"
#include "harness/run/matrix_runner.h"
#include "harness/run/plan.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "harness/util/numerics.h"
#include "harness/util/stop_request.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

constexpr int kExitCellsFailed = kExitFailed;  // the table in util/exit_codes.h
constexpr int kExitCellBusy = run::kCellBusyExit;
constexpr int kExitCellStopped = run::kCellStoppedExit;

void print_ingest(const store::IngestStats& s, const std::string& db) {
  fmt::print(stderr, "ptqbench: ingested {} runs ({} ok, {} failed, {} metrics){} into {}\n", s.runs, s.ok, s.failed,
             s.metrics, s.paper_files.empty() ? "" : fmt::format(" and {} paper-number files", s.paper_files.size()), db);
}

// ---- plan -------------------------------------------------------------------------------------------
struct PlanOptions {
  std::string spec, out;
};

void run_plan(const PlanOptions& o) {
  const run::ExperimentSpec spec = run::load_experiment_spec(o.spec);
  const auto cells = run::plan_cells(spec);
  print_plan_notes(spec, cells);
  if (o.out.empty()) {
    for (const auto& c : cells) fmt::print("{}\n", c.to_json().dump());
  } else {
    run::write_plan(o.out, cells);
  }
  fmt::print(stderr, "ptqbench: {}: {} cells (run them with `ptqbench run --plan PLAN --index 0-{}`)\n", spec.name,
             cells.size(), cells.size() - 1);
}

// ---- run --------------------------------------------------------------------------------------------
struct RunOptions {
  std::string spec, plan, index;
  int jobs = 1;
  std::string gpus;
  CommonOptions common;
  bool force = false, no_report = false;
  std::string format = "md";
};

void set_parallelism(const RunOptions& o, run::MatrixOptions& mo) {
  if (o.jobs < 1) throw InputError(fmt::format("--jobs {}: expected >= 1", o.jobs));
  mo.jobs = o.jobs;
  for (size_t pos = 0; pos < o.gpus.size();) {
    size_t end = o.gpus.find(',', pos);
    if (end == std::string::npos) end = o.gpus.size();
    const std::string gpu = o.gpus.substr(pos, end - pos);
    if (gpu.empty() || gpu.find_first_not_of("0123456789") != std::string::npos)
      throw InputError(fmt::format("--gpus {}: expected GPU indices such as 0,1,2,3", o.gpus));
    mo.gpus.push_back(gpu);
    pos = end + 1;
  }
  if (!mo.gpus.empty() && o.jobs == 1) mo.jobs = static_cast<int>(mo.gpus.size());  // one cell per GPU
}

int run_cells_of_plan(const RunOptions& o) {
  if (o.index.empty()) throw InputError("--plan needs --index (e.g. --index 3, --index 0-7, --index all)");
  auto cells = run::read_plan(o.plan);
  const auto indices = run::parse_index_list(o.index, static_cast<int64_t>(cells.size()));
  // Cells planned without their model get their final run ids here, before any is looked up or run.
  run::resolve_deferred_models(cells, indices, o.plan);
  if (indices.size() == 1) {
    const auto& cell = cells[static_cast<size_t>(indices[0])];
    // Before anything else: reproducible numerics may restart this process with its kernel pins.
    if (run::cell_state(o.common.results_dir, cell.run_id) != run::CellState::kDone || o.force)
      enter_numerics(parse_numerics(cell.runtime.numerics, o.plan + ": runtime.numerics"));
    // A worker that can resume: SIGTERM/SIGUSR1 (Slurm preemption, --signal before the time limit)
    // save the unit being trained and end the cell with kExitCellStopped instead of killing it.
    install_stop_handlers();
    run::CellRunOptions opt;
    opt.results_dir = o.common.results_dir;
    opt.cache_dir = o.common.cache();
    opt.force = o.force;
    const run::CellOutcome r = run::run_cell(cell, opt);
    const std::string dir = run::cell_dir(o.common.results_dir, cell.run_id);
    if (r == run::CellOutcome::kSkipped) fmt::print(stderr, "ptqbench: {}: already done ({})\n", run::describe_cell(cell), dir);
    if (r == run::CellOutcome::kBusy) {
      fmt::print(stderr, "ptqbench: {}: another worker is running it ({}/lock); skipped\n", run::describe_cell(cell), dir);
      return kExitCellBusy;
    }
    if (r == run::CellOutcome::kStopped) {
      fmt::print(stderr, "ptqbench: cell {} ({}) stopped; its state is in {}/work: run it again to resume\n", indices[0],
                 run::describe_cell(cell), dir);
      return kExitCellStopped;
    }
    if (r == run::CellOutcome::kFailed) {
      const nlohmann::json result = nlohmann::json::parse(std::ifstream(dir + "/result.json"));
      fmt::print(stderr, "ptqbench: error: cell {} ({}) failed: {}\n", indices[0], run::describe_cell(cell),
                 result.at("error").get<std::string>());
      return kExitCellsFailed;
    }
    return 0;
  }
  run::MatrixOptions mo;
  mo.plan_path = o.plan;
  mo.results_dir = o.common.results_dir;
  mo.child_args = o.common.child_args();
  mo.force = o.force;
  set_parallelism(o, mo);
  const auto summary = run::run_matrix(cells, indices, mo);
  if (summary.busy > 0)
    fmt::print(stderr, "ptqbench: notice: {} cells were being run by another worker and were left to it\n", summary.busy);
  if (summary.stopped > 0)
    fmt::print(stderr, "ptqbench: notice: {} cells were stopped by a signal with their state saved; run again to resume them\n",
               summary.stopped);
  if (summary.failed > 0) {
    fmt::print(stderr, "ptqbench: error: {} of {} cells failed (runs {}); re-run to retry only those\n", summary.failed,
               indices.size(), fmt::join(summary.failed_run_ids, ", "));
    return kExitCellsFailed;
  }
  return summary.stopped > 0 ? kExitCellStopped : 0;
}

int run_experiment(const RunOptions& o) {
  const run::ExperimentSpec spec = run::load_experiment_spec(o.spec);  // every check before any cell
  run::require_models_present(spec);  // the cells run here: a model that is not here is bad input (exit 2)
  const auto cells = run::plan_cells(spec);
  print_plan_notes(spec, cells);
  const std::string plan_path = (fs::path(o.common.results_dir) / "plans" / (spec.name + ".jsonl")).string();
  fs::create_directories(fs::path(plan_path).parent_path());
  run::write_plan(plan_path, cells);
  fmt::print(stderr, "ptqbench: {}: {} cells, plan in {}\n", spec.name, cells.size(), plan_path);

  run::MatrixOptions mo;
  mo.plan_path = plan_path;
  mo.results_dir = o.common.results_dir;
  mo.child_args = o.common.child_args();
  mo.force = o.force;
  set_parallelism(o, mo);
  std::vector<int64_t> all;
  for (size_t i = 0; i < cells.size(); ++i) all.push_back(static_cast<int64_t>(i));
  const auto summary = run::run_matrix(cells, all, mo);

  store::ResultsDb db(o.common.db_path());
  const auto stats = db.ingest(o.common.results_dir);
  if (!spec.papers.empty()) db.import_papers(spec.papers);
  print_ingest(stats, db.path());
  if (summary.busy > 0)
    fmt::print(stderr, "ptqbench: notice: {} cells were being run by another worker; the report lacks them until it "
               "finishes (then `ptqbench ingest` or run again)\n", summary.busy);
  if (!o.no_report) {
    const auto table = report::build_report(db, spec.name);
    fmt::print("{}", report::render({table}, report::parse_format(o.format)));
  }
  if (summary.failed > 0) {
    fmt::print(stderr, "ptqbench: error: {} of {} cells failed (runs {}); `ptqbench run {}` retries only those\n",
               summary.failed, cells.size(), fmt::join(summary.failed_run_ids, ", "), o.spec);
    return kExitCellsFailed;
  }
  if (summary.stopped > 0) {
    fmt::print(stderr, "ptqbench: {} cells were stopped by a signal with their state saved; `ptqbench run {}` resumes them\n",
               summary.stopped, o.spec);
    return kExitCellStopped;
  }
  return 0;
}

// ---- ingest -----------------------------------------------------------------------------------------
struct IngestOptions {
  CommonOptions common;
  std::vector<std::string> papers;
};

}  // namespace

void add_plan_command(CLI::App& app) {
  auto o = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand("plan", "Expand an experiment file into cells (JSON lines) with run ids");
  cmd->add_option("spec", o->spec, "Experiment file (JSON)")->required();
  cmd->add_option("-o,--out", o->out, "Write the plan here (atomically) instead of stdout");
  cmd->callback([o] { run_plan(*o); });
}

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand(
      "run", "Run an experiment file (plan + cells + ingest + report), or cells of a plan (--plan P --index I)");
  auto* spec = cmd->add_option("spec", o->spec, "Experiment file (JSON)");
  auto* plan = cmd->add_option("--plan", o->plan, "A plan from `ptqbench plan`: run its cells --index");
  spec->excludes(plan);
  cmd->add_option("--index", o->index, "Cells of --plan: 3, 0,2,5-7 or all (one index runs in this process)");
  add_common(cmd, o->common, true);
  cmd->add_flag("--force", o->force, "Run cells again even when they are DONE");
  cmd->add_option("-j,--jobs", o->jobs, "Cells at a time, each in its own process (default 1)")->capture_default_str();
  cmd->add_option("--gpus", o->gpus, "GPU indices, e.g. 0,1,2,3: one cell per GPU at a time (sets --jobs)");
  cmd->add_flag("--no-report", o->no_report, "Do not print the report after an experiment file");
  cmd->add_option("--format", o->format, "Report format: md, latex, csv, html")->capture_default_str();
  cmd->callback([o] {
    if (o->spec.empty() && o->plan.empty()) throw InputError("run: give an experiment file, or --plan PLAN --index I");
    if (o->plan.empty() && !o->index.empty()) throw InputError("--index needs --plan");
    check_report_format(o->format);
    require_writable_results(o->common, "run");
    const int rc = o->plan.empty() ? run_experiment(*o) : run_cells_of_plan(*o);
    if (rc != 0) std::exit(rc);
  });
}

void add_ingest_command(CLI::App& app) {
  auto o = std::make_shared<IngestOptions>();
  auto* cmd = app.add_subcommand("ingest", "Upsert results/runs/*/result.json into the SQLite database (one transaction)");
  add_common(cmd, o->common, false);
  cmd->add_option("--papers", o->papers, "Also import these reported-number files (experiments/papers/*.json)");
  cmd->callback([o] {
    require_writable_results(o->common, "ingest");
    store::ResultsDb db(o->common.db_path());
    const auto stats = db.ingest(o->common.results_dir);
    if (!o->papers.empty()) {
      const int rows = db.import_papers(o->papers);
      fmt::print(stderr, "ptqbench: imported {} reported numbers from {} files\n", rows, o->papers.size());
    }
    print_ingest(stats, db.path());
  });
}

}  // namespace ptq::cli
