// Runs many cells of a plan, each in its own `ptqbench run --plan P --index I` child process (`jobs` at a
// time, e.g. one per GPU of a node): a crash or
// an out-of-memory kill in one cell cannot take the matrix down, every cell's peak memory is its own,
// and the local path is the same code a Slurm array task runs. Cells already DONE are skipped; a failed
// cell is reported and the matrix goes on.
#pragma once

#include "harness/run/cell.h"
#include "harness/util/exit_codes.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ptq::run {

struct MatrixOptions {
  std::string plan_path;
  std::string results_dir = "results";
  std::vector<std::string> child_args;  // extra arguments for each child (cache, --force)
  bool force = false;
  int jobs = 1;                   // cells at a time (each a child process)
  std::vector<std::string> gpus;  // child in job slot k sees CUDA_VISIBLE_DEVICES=gpus[k % size]
};

struct MatrixSummary {
  int ok = 0, skipped = 0, failed = 0, busy = 0;  // busy: another worker held the cell
  int stopped = 0;  // ended by a stop request (SIGTERM/SIGUSR1) with their state saved; run again to resume
  std::vector<std::string> failed_run_ids;
};

MatrixSummary run_matrix(const std::vector<Cell>& cells, const std::vector<int64_t>& indices,
                         const MatrixOptions& options);

// Exit status of `ptqbench run --plan P --index I` when another worker holds the cell's lock.
constexpr int kCellBusyExit = kExitCellBusy;  // util/exit_codes.h
// ... when a stop request (SIGTERM/SIGUSR1) ended the cell with its state saved: requeue it to resume.
constexpr int kCellStoppedExit = kExitStopped;

// "0,2,5-7" -> {0, 2, 5, 6, 7}; "all" -> 0..n-1. InputError for malformed lists or indices >= n.
std::vector<int64_t> parse_index_list(const std::string& text, int64_t n);

// The running ptqbench binary (what child cells and Slurm jobs start).
std::string self_executable();

// A cell as people read it: "rtn W4A4 tiny-llama seed 2".
std::string describe_cell(const Cell& cell);

}  // namespace ptq::run
