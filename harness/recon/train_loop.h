// The optimisation loop of every reconstruction unit (a block, a window of blocks, LRQuant's
// evaluation-time adaptation): AdamW over the unit's parameter groups, o.epochs epochs over `n` samples
// in batches of o.batch_size in fixed order, the step's loss under autocast as o.precision says, dynamic
// loss scaling, progress ("<label> epoch e/E loss l"), and preemption.
#pragma once

#include "harness/recon/block_recon.h"

#include <limits>
#include <string>

namespace ptq::recon {

// One training step's loss, built by the caller for the batch of samples starting at `j` (`step` counts
// the steps of the unit from 0); `logged` is the value averaged into the epoch means (e.g. the
// reconstruction term without a regulariser).
struct StepLoss {
  at::Tensor loss;
  double logged = std::numeric_limits<double>::quiet_NaN();  // NaN: the loss itself
};
using StepLossFn = std::function<StepLoss(int64_t j, int64_t step)>;

// <checkpoint_dir>/partial_<unit as a slug>.safetensors, e.g. "block 3" -> partial_block_3.safetensors.
std::string partial_checkpoint_path(const std::string& checkpoint_dir, const std::string& unit);

// Runs the loop. A NaN/Inf loss throws "<where> epoch e step s: loss is nan ..." unless `can_skip`: then
// it stops and returns log.skipped; `done` still advances past the unit's remaining steps.
// Preemption (util/stop_request.h): before every step the loop checks for a stop request; with
// o.checkpoint_dir set it saves the unit's state to partial_checkpoint_path(dir, where) and throws
// StopRequested. A later call with the same `where` and key resumes from that file at the same step
// (bit-identical to an uninterrupted run) and removes it when the unit is done.
BlockLog train_steps(const std::vector<train::ParamGroup>& groups, int64_t n, const StepLossFn& step_loss,
                     const std::string& where, const std::string& label, bool can_skip, const ReconOptions& o,
                     Progress& progress, int64_t& done);

}  // namespace ptq::recon
