// Graceful stops for preemptible workers (Slurm preemption, time limits): SIGTERM or SIGUSR1 only
// raise a flag; the reconstruction loop checks it before every step, saves the unit it is training
// (block or CBQ window: parameters, optimiser state, position in the epoch loop) and throws
// StopRequested, and the cell worker exits with kCellStoppedExit so that a requeued job resumes at that
// very step. Phases with nothing to save (loading, each evaluation task) check the flag when they end.
// A second signal two or more seconds after the first ends the process at once (exit 128+sig), so an
// impatient `kill` still works; the same stop arriving twice at once (Slurm signalling both the batch
// script, which forwards it, and the worker) counts once.
#pragma once

#include <stdexcept>
#include <string>

namespace ptq {

class StopRequested : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Installs the SIGTERM/SIGUSR1 handlers (idempotent). Only worker processes that can resume call it.
void install_stop_handlers();
// The signal that asked for a stop (0: none). What loops poll.
int stop_signal();
// Between phases that have nothing to save: throws StopRequested("<where>: stopped on SIGTERM") when asked.
void throw_if_stop_requested(const std::string& where);
// For tests and embedders: ask for a stop as if `signal` had arrived, or clear the request.
void request_stop(int signal);
void clear_stop_request();  // also disarms request_stop_at_check
// Fault injection for tests: the n-th call of stop_signal() from now (n >= 1) finds `signal` raised, as
// if it had arrived just before: a stop at an exact training step, without timing.
void request_stop_at_check(long n, int signal);
// "SIGTERM", "SIGUSR1", "signal 7".
std::string signal_name(int signal);

}  // namespace ptq
