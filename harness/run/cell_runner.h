// Runs one cell of a plan and writes its outcome under <results>/runs/<run_id>/:
//   cell.json     the plan line (what was asked)
//   started.json  host, pid and time of the latest attempt
//   result.json   status "ok" with metrics, or "failed" with the error; written atomically
//   DONE          written last, only after an "ok" result: a cell with DONE is never run again
//   work/         the method's per-block checkpoints while it runs (a killed cell resumes from them);
//                 removed once the cell is DONE
//   lock          flock()ed while the cell runs: a second worker given the same cell skips it (the
//                 kernel drops the lock when the process dies, so a killed cell can be run again)
// Workers write nothing else, so any number of them can share one results directory (local processes,
// Slurm array tasks); only `ptqbench ingest` writes the database.
#pragma once

#include "harness/run/cell.h"

#include <nlohmann/json.hpp>

#include <string>

namespace ptq::run {

enum class CellState { kMissing, kFailed, kDone };

std::string runs_dir(const std::string& results_dir);
std::string cell_dir(const std::string& results_dir, const std::string& run_id);
CellState cell_state(const std::string& results_dir, const std::string& run_id);

struct CellRunOptions {
  std::string results_dir = "results";
  std::string cache_dir;  // token cache ("" = no cache)
  bool force = false;     // run even when DONE exists
  bool progress = true;
};

// kStopped: a stop request (SIGTERM/SIGUSR1, util/stop_request.h) ended the cell part-way; its work/
// checkpoints are kept and no result is written, so running it again resumes where it stopped.
enum class CellOutcome { kSkipped, kBusy, kOk, kFailed, kStopped };

// Never throws for a failure inside the cell (bad data, NaN, method error): the error goes into
// result.json (status "failed") and kFailed is returned. Throws only when the results directory
// itself cannot be written, or (InputError, nothing written) for a cell whose run id is still provisional
// (plan.h resolve_deferred_models).
CellOutcome run_cell(const Cell& cell, const CellRunOptions& options);

}  // namespace ptq::run
