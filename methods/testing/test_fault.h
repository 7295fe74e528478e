// "test_fault": a method for the harness's own tests, registered only when PTQBENCH_TEST_METHODS=1.
// It leaves the model unquantized (like FP) after optionally
//   - waiting while the file `block_while_exists` exists (a cell that is "still running" when a test
//     kills the matrix),
//   - failing while the file `fail_while_exists` exists (a cell that fails, then succeeds on a retry),
//   - poisoning the weights with NaN (`nan`: true), to exercise the NaN checks,
//   - asking for calibration windows (`calibrate`: true) and reporting their shape and sum.
// Paths are part of the config, hence of the run id, so a test can change the files without changing
// which cell it is.
#pragma once

#include "harness/ptq/method.h"

#include <memory>

namespace ptq::methods {

std::unique_ptr<quant::Method> make_test_fault();

}  // namespace ptq::methods
