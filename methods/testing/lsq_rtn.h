// "lsq_rtn": a test-only method of the kind GPTQ and AWQ are - it calibrates without an optimiser - to
// show (and test) that the reconstruction engine's contract covers such methods unchanged: epochs 0,
// parts that read the block's quantized-path inputs (BlockInputs::x_q, available without training),
// go through the block in sub-steps (q/k/v; o_proj on the inputs the updated q/k/v produce; gate/up;
// down_proj), capture each group's inputs X (recon/linear_inputs.h) and update the weights in closed
// form: RTN, then each output row r rescaled by the least-squares factor
//     a_r = <X w_r, X q_r> / ||X q_r||^2        (w_r: the FP row, q_r: its RTN row; a_r = 1 when X q_r = 0)
// which keeps the row on its quantization grid (its scale becomes a_r * s). Registered only with
// PTQBENCH_TEST_METHODS=1; not a method from a paper.
#pragma once

#include "harness/ptq/method.h"

#include <memory>

namespace ptq::methods {

std::unique_ptr<quant::Method> make_lsq_rtn();

}  // namespace ptq::methods
