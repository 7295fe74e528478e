#include "harness/run/slurm_jobs.h"

#include "harness/run/matrix_runner.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <cctype>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

namespace ptq::run {

namespace {

// The resources of one cell: the spec's per-model request over the command's defaults.
SlurmResources resolve(const Cell& cell, const SlurmOptions& o) {
  SlurmResources r;
  const bool cuda = cell.runtime.device.rfind("cuda", 0) == 0;
  r.gpus = o.gpus_per_task >= 0 ? o.gpus_per_task : (cuda ? 1 : 0);
  r.cpus = o.cpus_per_task;
  r.mem = o.mem;
  r.time = o.time;
  const nlohmann::json& s = cell.model.slurm;
  if (s.is_object()) {
    if (s.contains("gpus")) r.gpus = s.at("gpus").get<int>();
    if (s.contains("cpus")) r.cpus = s.at("cpus").get<int>();
    if (s.contains("mem")) r.mem = s.at("mem").get<std::string>();
    if (s.contains("time")) r.time = s.at("time").get<std::string>();
  }
  return r;
}

std::string command_line(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + (a.rfind("\"$", 0) == 0 ? a : shell_quote(a));
  return s;
}

// The #SBATCH lines every job of the submission shares.
std::string common_header(const std::string& name, const SlurmOptions& o, const SlurmPaths& p) {
  std::string h = "#!/bin/bash\n";
  h += fmt::format("#SBATCH --job-name={}\n", name);
  h += fmt::format("#SBATCH --chdir={}\n", p.workdir);
  if (!o.partition.empty()) h += fmt::format("#SBATCH --partition={}\n", o.partition);
  if (!o.account.empty()) h += fmt::format("#SBATCH --account={}\n", o.account);
  if (!o.qos.empty()) h += fmt::format("#SBATCH --qos={}\n", o.qos);
  for (const auto& a : o.sbatch_args) h += fmt::format("#SBATCH {}\n", a);
  return h;
}

std::string array_script(const std::string& experiment, const ArrayJob& job, const SlurmOptions& o, const SlurmPaths& p) {
  const SlurmResources& r = job.resources;
  std::string s = common_header("ptq-" + experiment, o, p);
  s += fmt::format("#SBATCH --array={}{}\n", index_ranges(job.indices),
                   o.max_parallel > 0 ? fmt::format("%{}", o.max_parallel) : "");
  s += fmt::format("#SBATCH --output={}/logs/%A_%a.out\n", p.job_dir);
  s += "#SBATCH --open-mode=append\n";  // a requeued task appends to its log
  s += "#SBATCH --ntasks=1\n";
  if (r.gpus > 0) s += fmt::format("#SBATCH --gpus-per-task={}\n", r.gpus);
  if (r.cpus > 0) s += fmt::format("#SBATCH --cpus-per-task={}\n", r.cpus);
  if (!r.mem.empty()) s += fmt::format("#SBATCH --mem={}\n", r.mem);
  int lead = o.signal_lead_s;
  if (!r.time.empty()) {
    s += fmt::format("#SBATCH --time={}\n", r.time);
    lead = static_cast<int>(std::min<int64_t>(lead, slurm_time_seconds(r.time) / 4));  // short limits: still time to work
  }
  s += "#SBATCH --requeue\n";
  if (lead > 0) s += fmt::format("#SBATCH --signal=B:USR1@{}\n", lead);
  std::vector<std::string> args = {p.exe, "run", "--plan", p.plan, "--index", "\"$SLURM_ARRAY_TASK_ID\"", "--results", p.results};
  args.insert(args.end(), p.cache_args.begin(), p.cache_args.end());
  s += fmt::format(R"(
# Written by `ptqbench slurm` for experiment "{0}": one task per cell of the plan below.
# Exit codes of the worker: 0 done, 3 the cell failed (see its result.json), 4 another worker holds it,
# 5 stopped by a signal with its state saved (this script then requeues the task, which resumes).
set -u
echo "ptqbench slurm: cell $SLURM_ARRAY_TASK_ID of {1} on $(hostname), job ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}, restart ${{SLURM_RESTART_COUNT:-0}}"
# Slurm signals only this shell (--signal=B:...) or every process; either way the worker must hear it.
{2} &
worker=$!
trap 'kill -USR1 "$worker" 2>/dev/null' USR1 TERM
rc=0
wait "$worker" || rc=$?
while kill -0 "$worker" 2>/dev/null; do rc=0; wait "$worker" || rc=$?; done
if [ "$rc" -eq {3} ]; then
  echo "ptqbench slurm: the cell saved its state; requeueing ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
  scontrol requeue "${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
fi
exit "$rc"
)",
                   experiment, p.plan, command_line(args), kCellStoppedExit);
  return s;
}

std::string ingest_script(const std::string& experiment, const SlurmOptions& o, const SlurmPaths& p) {
  std::string s = common_header("ptq-" + experiment + "-ingest", o, p);
  s += fmt::format("#SBATCH --output={}/logs/ingest_%j.out\n", p.job_dir);
  s += "#SBATCH --ntasks=1\n";
  if (!o.time.empty()) s += fmt::format("#SBATCH --time={}\n", o.time);
  s += "#SBATCH --kill-on-invalid-dep=yes\n";  // a failed cell cancels this job instead of leaving it pending
  std::vector<std::string> ingest = {p.exe, "ingest", "--results", p.results, "--db", p.db};
  if (!p.papers.empty()) {
    ingest.push_back("--papers");
    ingest.insert(ingest.end(), p.papers.begin(), p.papers.end());
  }
  const std::vector<std::string> report = {p.exe, "report", "--db", p.db, "--experiment", experiment,
                                           "--format", "md", "-o", p.job_dir + "/report.md"};
  s += fmt::format(R"(
# Written by `ptqbench slurm` for experiment "{}": after every cell, the database and the report.
set -euo pipefail
{}
{}
echo "ptqbench slurm: report in {}/report.md"
)",
                   experiment, command_line(ingest), command_line(report), p.job_dir);
  return s;
}

}  // namespace

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string index_ranges(std::vector<int64_t> indices) {
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  std::string out;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + (j == i ? std::to_string(indices[i]) : fmt::format("{}-{}", indices[i], indices[j]));
    i = j + 1;
  }
  return out;
}

int64_t slurm_time_seconds(const std::string& time) {
  const auto bad = [&]() {
    return InputError(fmt::format("--time {}: expected minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S", time));
  };
  // At most 9 digits per field (30 years of minutes), so std::stoll never throws out_of_range (exit 1).
  if (time.empty() || time.find_first_not_of("0123456789:-") != std::string::npos) throw bad();
  for (size_t run = 0, i = 0; i <= time.size(); ++i) {
    run = i < time.size() && std::isdigit(static_cast<unsigned char>(time[i])) ? run + 1 : 0;
    if (run > 9) throw bad();
  }
  int64_t days = 0;
  std::string rest = time;
  const size_t dash = time.find('-');
  if (dash != std::string::npos) {
    if (dash == 0 || time.find('-', dash + 1) != std::string::npos) throw bad();
    days = std::stoll(time.substr(0, dash));
    rest = time.substr(dash + 1);
  }
  std::vector<int64_t> parts;
  for (size_t pos = 0; pos <= rest.size();) {
    size_t end = rest.find(':', pos);
    if (end == std::string::npos) end = rest.size();
    if (end == pos) throw bad();
    parts.push_back(std::stoll(rest.substr(pos, end - pos)));
    pos = end + 1;
  }
  if (parts.size() > 3) throw bad();
  if (dash != std::string::npos) {  // D-H, D-H:M, D-H:M:S
    parts.resize(3, 0);
    return ((days * 24 + parts[0]) * 60 + parts[1]) * 60 + parts[2];
  }
  if (parts.size() == 1) return parts[0] * 60;               // minutes
  if (parts.size() == 2) return parts[0] * 60 + parts[1];    // M:S
  return (parts[0] * 60 + parts[1]) * 60 + parts[2];         // H:M:S
}

SlurmJobs make_slurm_jobs(const std::vector<Cell>& cells, const std::vector<int64_t>& pending,
                          const std::string& experiment, const SlurmOptions& options, const SlurmPaths& paths) {
  if (!options.time.empty()) slurm_time_seconds(options.time);
  if (options.max_parallel < 0) throw InputError(fmt::format("--max-parallel {}: expected >= 0", options.max_parallel));
  using Key = std::tuple<int, int, std::string, std::string>;
  std::map<Key, ArrayJob> groups;
  std::vector<Key> order;  // arrays in the order of their first cell
  for (int64_t i : pending) {
    const SlurmResources r = resolve(cells.at(static_cast<size_t>(i)), options);
    if (!r.time.empty()) slurm_time_seconds(r.time);
    const Key key{r.gpus, r.cpus, r.mem, r.time};
    auto [it, fresh] = groups.try_emplace(key);
    if (fresh) {
      it->second.resources = r;
      order.push_back(key);
    }
    it->second.indices.push_back(i);
  }
  SlurmJobs jobs;
  for (size_t k = 0; k < order.size(); ++k) {
    ArrayJob job = groups.at(order[k]);
    job.script_name = order.size() == 1 ? "cells.sbatch" : fmt::format("cells_{}.sbatch", k);
    job.script = array_script(experiment, job, options, paths);
    jobs.arrays.push_back(std::move(job));
  }
  jobs.ingest_script = ingest_script(experiment, options, paths);
  return jobs;
}

std::vector<std::string> active_jobs(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return {};
  std::string list;
  for (const auto& id : job_ids) list += (list.empty() ? "" : ",") + id;
  // Jobs Slurm no longer knows make squeue fail ("Invalid job id"): then nothing of them is active.
  FILE* pipe = ::popen(("squeue -h -o %i -j " + shell_quote(list) + " 2>/dev/null").c_str(), "r");
  if (!pipe) return {};
  std::vector<std::string> active;
  char buf[256];
  while (std::fgets(buf, sizeof buf, pipe)) {
    std::string line(buf);
    line = line.substr(0, line.find_first_of("_\n "));  // "123_[4-7]" or "123_4" -> the array job 123
    if (!line.empty() && std::find(active.begin(), active.end(), line) == active.end()) active.push_back(line);
  }
  ::pclose(pipe);
  return active;
}

std::string sbatch_submit(const std::string& script_path, const std::string& dependency) {
  std::string cmd = "sbatch --parsable";
  if (!dependency.empty()) cmd += " --dependency=" + shell_quote(dependency);
  cmd += " " + shell_quote(script_path) + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run sbatch");
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  const int status = ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (rc == 127) throw InputError("sbatch not found: run `ptqbench slurm` on a Slurm login node, or add --dry-run");
  const std::string id = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  const std::string job = id.substr(0, id.find(';'));  // "<id>;<cluster>" on federated clusters
  if (rc != 0 || job.empty() || job.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error(fmt::format("sbatch {} failed (exit {}): {}", script_path, rc, out));
  return job;
}

}  // namespace ptq::run
