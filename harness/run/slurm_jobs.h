// `ptqbench slurm`: the experiment matrix as Slurm jobs. Every cell not yet DONE becomes one task of a
// job array (one array per distinct resource request: a 70B model's cells can ask for more GPUs through
// the spec's "slurm" object); each task runs `ptqbench run --plan P --index $SLURM_ARRAY_TASK_ID`, the
// same worker a local run uses. A last job, dependent on the arrays (afterok), ingests every result
// into the database and writes the report.
//
// Preemption: tasks are --requeue'able and get SIGUSR1 `signal_lead_s` before their time limit
// (--signal=B:USR1@N); the batch script forwards USR1/TERM to the worker, which saves the block it is
// training and exits with kCellStoppedExit; the script then requeues its own task, which resumes there.
#pragma once

#include "harness/run/cell.h"
#include "harness/run/experiment_spec.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ptq::run {

struct SlurmOptions {
  std::string partition, account, qos;
  std::string time;          // per-cell time limit, e.g. "08:00:00" ("" = the partition's default)
  int gpus_per_task = -1;    // -1: 1 when the spec runs on CUDA, 0 on CPU
  int cpus_per_task = 0;     // 0: the cluster's default
  std::string mem;           // e.g. "64G" ("" = the cluster's default)
  int max_parallel = 0;      // array tasks running at a time (0 = no limit)
  int signal_lead_s = 300;   // seconds before the time limit at which a task is told to checkpoint
  std::vector<std::string> sbatch_args;  // more options for every job, e.g. "--qos=high", "--constraint=a100"
};

// Absolute paths the scripts use (jobs may start in any directory on any node).
struct SlurmPaths {
  std::string exe;      // the ptqbench binary
  std::string workdir;  // --chdir of every job
  std::string plan;     // the plan the array tasks index
  std::string results;  // results directory
  std::string db;       // database the ingest job writes
  std::string job_dir;  // <results>/slurm/<experiment>: scripts, logs/, report.md
  std::vector<std::string> cache_args;  // "--cache-dir X" or "--no-cache" for the workers
  std::vector<std::string> papers;      // reported-number files for the ingest job
};

struct ArrayJob {
  SlurmResources resources;       // resolved: gpus >= 0
  std::vector<int64_t> indices;   // plan indices, ascending
  std::string script_name;        // cells.sbatch, or cells_<k>.sbatch when the matrix needs several arrays
  std::string script;
};

struct SlurmJobs {
  std::vector<ArrayJob> arrays;
  std::string ingest_script;  // submitted with --dependency=afterok:<every array>
};

// Groups `pending` (indices into `cells`) by resource request and writes the scripts' text.
SlurmJobs make_slurm_jobs(const std::vector<Cell>& cells, const std::vector<int64_t>& pending,
                          const std::string& experiment, const SlurmOptions& options, const SlurmPaths& paths);

// {0,1,2,3,7,9,10} -> "0-3,7,9-10" (Slurm's --array syntax).
std::string index_ranges(std::vector<int64_t> indices);

// Slurm time formats ("M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S") in seconds; InputError otherwise.
int64_t slurm_time_seconds(const std::string& time);

// Shell single-quoting.
std::string shell_quote(const std::string& s);

// The jobs among `job_ids` that Slurm still has queued or running (`squeue`); none when squeue is missing.
std::vector<std::string> active_jobs(const std::vector<std::string>& job_ids);

// `sbatch --parsable [--dependency=D] script`; returns the job id. Throws with sbatch's message.
std::string sbatch_submit(const std::string& script_path, const std::string& dependency);

}  // namespace ptq::run
