// Exit codes of every ptqbench command: one table, documented in docs/cli.md ("Exit codes") and tested
// one code at a time in tests/integration/test_exit_codes.cpp. Scripts rely on them (the Slurm script
// requeues on 5), so a code never changes meaning.
#pragma once

#include "harness/util/errors.h"

namespace ptq {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;  // a bug: any exception other than the two below
constexpr int kExitInput = 2;     // bad usage or input (InputError, command-line parse errors)
constexpr int kExitFailed = 3;    // `regress` found a regression; `run`: cells failed
constexpr int kExitCellBusy = 4;  // `run --plan P --index I`: another worker holds the cell
constexpr int kExitStopped = 5;   // stopped by SIGTERM/SIGUSR1 with its state saved: requeue (the Slurm script does)
// kExitEnvironment = 6 (util/errors.h, beside EnvironmentError): locked database, read-only directory,
// disk full, reproducible numerics this machine cannot give.
static_assert(kExitEnvironment == 6, "the documented code of EnvironmentError");

}  // namespace ptq
