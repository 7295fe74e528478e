// `ptqbench slurm SPEC.json`: the experiment matrix as a Slurm job array plus a dependent ingest+report
// job (run/slurm_jobs.h). Writes, under <results>/slurm/<experiment>/:
//   plan_<hash>.jsonl   the plan the array indexes (one file per distinct plan: a changed spec never
//                       re-indexes tasks that are still queued)
//   cells.sbatch        the array (cells_<k>.sbatch when cells ask for different resources)
//   ingest.sbatch       ingest + report, --dependency=afterok on the arrays
//   logs/%A_%a.out      one log per task; submissions.jsonl: what was submitted when
// and submits them, or prints them with --dry-run. Only cells without DONE are submitted, so running
// the command again after a failure or a cancellation runs just what is missing.
#include "harness/cli/commands.h"
#include "harness/cli/results_options.h"
#include "harness/io/files.h"
#include "harness/io/sha256.h"
#include "harness/report/render.h"
#include "harness/report/report_table.h"
#include "harness/run/cell_runner.h"
#include "harness/run/experiment_spec.h"
#include "harness/run/matrix_runner.h"
#include "harness/run/plan.h"
#include "harness/run/provenance.h"
#include "harness/run/slurm_jobs.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

struct SlurmCommandOptions {
  std::string spec;
  CommonOptions common;
  run::SlurmOptions slurm;
  bool dry_run = false;
  bool allow_concurrent = false;
};

// Job ids of every earlier submission of this experiment (submissions.jsonl).
std::vector<std::string> submitted_jobs(const std::string& job_dir) {
  std::vector<std::string> ids;
  std::ifstream in(fs::path(job_dir) / "submissions.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    for (const auto& a : j.value("arrays", nlohmann::json::array())) ids.push_back(a.value("job", ""));
    if (j.contains("ingest")) ids.push_back(j.at("ingest").get<std::string>());
  }
  ids.erase(std::remove(ids.begin(), ids.end(), ""), ids.end());
  return ids;
}

std::string absolute(const std::string& path) {
  std::string s = fs::absolute(path).lexically_normal().string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

void run_slurm(const SlurmCommandOptions& o) {
  const run::ExperimentSpec spec = run::load_experiment_spec(o.spec);  // every check before anything is written
  const auto cells = run::plan_cells(spec);
  print_plan_notes(spec, cells);  // cells with provisional ids are never DONE here: their tasks skip them if they are
  std::string plan_text;
  for (const auto& c : cells) plan_text += c.to_json().dump() + "\n";

  run::SlurmPaths p;
  p.exe = run::self_executable();
  p.workdir = absolute(".");
  p.results = absolute(o.common.results_dir);
  p.db = absolute(o.common.db_path());
  p.job_dir = (fs::path(p.results) / "slurm" / spec.name).string();
  p.plan = (fs::path(p.job_dir) / fmt::format("plan_{}.jsonl", io::sha256_hex(plan_text).substr(0, 12))).string();
  p.cache_args = o.common.no_cache ? std::vector<std::string>{"--no-cache"}
                                   : std::vector<std::string>{"--cache-dir", absolute(o.common.cache_dir)};
  for (const auto& f : spec.papers) p.papers.push_back(absolute(f));

  std::vector<int64_t> pending;
  for (const auto& c : cells)
    if (run::cell_state(p.results, c.run_id) != run::CellState::kDone)
      pending.push_back(c.index);
  if (pending.empty()) {
    fmt::print(stderr, "ptqbench slurm: {}: all {} cells are DONE; nothing to submit. The report:\n", spec.name, cells.size());
    store::ResultsDb db(p.db);
    db.ingest(p.results);
    if (!spec.papers.empty()) db.import_papers(spec.papers);
    fmt::print("{}", report::render({report::build_report(db, spec.name)}, report::Format::kMarkdown));
    return;
  }
  // An earlier submission still in the queue would run the same cells: its tasks hold the cells' locks, the
  // new tasks would exit "busy" and the new ingest job's afterok would never be met.
  if (!o.allow_concurrent && !o.dry_run) {
    const auto active = run::active_jobs(submitted_jobs(p.job_dir));
    if (!active.empty())
      throw InputError(fmt::format("{}: jobs {} of an earlier submission are still queued or running (squeue); wait for "
                                   "them or scancel them, then submit again (or pass --allow-concurrent)",
                                   p.job_dir, fmt::join(active, ", ")));
  }
  const run::SlurmJobs jobs = run::make_slurm_jobs(cells, pending, spec.name, o.slurm, p);

  fs::create_directories(fs::path(p.job_dir) / "logs");
  if (!io::file_exists(p.plan)) run::write_plan(p.plan, cells);
  for (const auto& a : jobs.arrays) io::write_file_atomic((fs::path(p.job_dir) / a.script_name).string(), a.script);
  const std::string ingest_path = (fs::path(p.job_dir) / "ingest.sbatch").string();
  io::write_file_atomic(ingest_path, jobs.ingest_script);

  fmt::print(stderr, "ptqbench slurm: {}: {} cells, {} already DONE, {} to submit in {} array job{}; scripts in {}\n", spec.name,
             cells.size(), cells.size() - pending.size(), pending.size(), jobs.arrays.size(),
             jobs.arrays.size() == 1 ? "" : "s", p.job_dir);
  if (o.dry_run) {
    for (const auto& a : jobs.arrays)
      fmt::print("# ---- {} (sbatch {})\n{}\n", a.script_name, (fs::path(p.job_dir) / a.script_name).string(), a.script);
    fmt::print("# ---- ingest.sbatch (sbatch --dependency=afterok:<each array job> {})\n{}", ingest_path, jobs.ingest_script);
    fmt::print(stderr, "ptqbench slurm: --dry-run: nothing submitted\n");
    return;
  }
  std::vector<std::string> array_ids;
  nlohmann::json record = {{"submitted", run::utc_timestamp()}, {"plan", p.plan}, {"arrays", nlohmann::json::array()}};
  for (const auto& a : jobs.arrays) {
    const std::string id = run::sbatch_submit((fs::path(p.job_dir) / a.script_name).string(), "");
    array_ids.push_back(id);
    record["arrays"].push_back({{"job", id}, {"script", a.script_name}, {"indices", run::index_ranges(a.indices)},
                                {"resources", a.resources.to_json()}});
    fmt::print(stderr, "ptqbench slurm: submitted array job {} ({}: {} cells, indices {}{})\n", id, a.script_name,
               a.indices.size(), run::index_ranges(a.indices),
               a.resources.gpus > 0 ? fmt::format(", {} GPU{} each", a.resources.gpus, a.resources.gpus == 1 ? "" : "s") : "");
  }
  std::string dependency = "afterok";
  for (const auto& id : array_ids) dependency += ":" + id;
  const std::string ingest_id = run::sbatch_submit(ingest_path, dependency);
  record["ingest"] = ingest_id;
  std::ofstream(fs::path(p.job_dir) / "submissions.jsonl", std::ios::app) << record.dump() << "\n";
  fmt::print(stderr, "ptqbench slurm: submitted ingest job {} ({}); the report will be {}/report.md\n", ingest_id, dependency,
             p.job_dir);
  fmt::print(stderr, "ptqbench slurm: logs in {}/logs; watch with `squeue -j {},{}`; run this command again to resubmit "
             "only the cells without DONE\n", p.job_dir, fmt::join(array_ids, ","), ingest_id);
  fmt::print("{}\n", ingest_id);  // stdout: the job to wait for, for scripts
}

}  // namespace

void add_slurm_command(CLI::App& app) {
  auto o = std::make_shared<SlurmCommandOptions>();
  auto* cmd = app.add_subcommand("slurm", "Submit an experiment file to Slurm: a job array (one task per cell not DONE) "
                                          "and a dependent ingest + report job");
  cmd->add_option("spec", o->spec, "Experiment file (JSON)")->required();
  add_common(cmd, o->common, true);
  auto& s = o->slurm;
  cmd->add_option("--partition", s.partition, "Partition (-p) of every job");
  cmd->add_option("--account", s.account, "Account (-A) to charge");
  cmd->add_option("--qos", s.qos, "Quality of service");
  cmd->add_option("--time", s.time, "Time limit per cell, e.g. 08:00:00 or 1-00:00:00 (default: the partition's)");
  cmd->add_option("--gpus-per-task", s.gpus_per_task, "GPUs per cell (default: 1 for a CUDA spec, 0 for CPU; a model's "
                                                      "\"slurm\": {\"gpus\": N} in the spec overrides it)");
  cmd->add_option("--cpus-per-task", s.cpus_per_task, "CPUs per cell (default: the cluster's)");
  cmd->add_option("--mem", s.mem, "Memory per cell, e.g. 64G (default: the cluster's)");
  cmd->add_option("--max-parallel", s.max_parallel, "Cells running at a time (--array=...%K; default: no limit)");
  cmd->add_option("--signal-lead", s.signal_lead_s, "Seconds before the time limit at which a cell saves its state and "
                                                    "requeues itself")->capture_default_str();
  cmd->add_option("--sbatch-arg", s.sbatch_args, "Another #SBATCH option for every job, e.g. --sbatch-arg=--constraint=a100");
  cmd->add_flag("--dry-run", o->dry_run, "Write and print the scripts, submit nothing");
  cmd->add_flag("--allow-concurrent", o->allow_concurrent, "Submit even while jobs of an earlier submission are queued");
  cmd->callback([o] {
    if (o->slurm.gpus_per_task < -1) throw InputError(fmt::format("--gpus-per-task {}: expected >= 0", o->slurm.gpus_per_task));
    if (o->slurm.cpus_per_task < 0) throw InputError(fmt::format("--cpus-per-task {}: expected >= 1", o->slurm.cpus_per_task));
    if (o->slurm.signal_lead_s < 0) throw InputError(fmt::format("--signal-lead {}: expected >= 0", o->slurm.signal_lead_s));
    run_slurm(*o);
  });
}

}  // namespace ptq::cli
