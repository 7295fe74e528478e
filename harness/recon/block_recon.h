// The block-wise reconstruction engine shared by OmniQuant, LRQuant, CBQ and MPPQ
// (research/omniquant_lrquant.md §1.4; OmniQuant quantize/omniquant.py):
//
//   X_fp = X_q = embed(calibration windows)                  # the input of block 0
//   for each block i:
//     target   = B_i(X_fp)               (FP block, no quantization)
//     target_2 = B_i(X_q)                (only with aug_loss: the FP block on the quantized-path input)
//     learnable parts P (LWC, LET; rounding later) -> AdamW, fixed sample order, batch size, epochs:
//       loss = MSE(Bq_i(X_q[j]; P), target[j]) (+ MSE(., target_2[j]))
//     fold P into the block, fake-quantize its weights once
//     X_q  = Bq_i(X_q)  (quantized weights AND activations: the next block learns on what it will see)
//     X_fp = target
//
// CPU runs fp32 throughout; CUDA follows the reference's precision policy (recon/precision.h). A NaN/Inf
// loss stops the run naming block, epoch and step (or, with nan_policy skip-block, keeps a fallback).
#pragma once

#include "model/llama_model.h"
#include "quant/quant_setting.h"
#include "recon/precision.h"
#include "train/adamw.h"

#include <ATen/core/Tensor.h>
#include <c10/util/Optional.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ptq {
class Progress;
}

namespace ptq::recon {

// The learnable parts of one block.
class BlockParts {
 public:
  virtual ~BlockParts() = default;
  virtual std::vector<train::ParamGroup> param_groups() = 0;
  // Called before every step's temporary_block (OmniQuant truncates its LET scales here).
  virtual void before_step() {}
  // The block as the current parameters make it: differentiable w.r.t. param_groups().
  virtual DecoderBlock temporary_block(const DecoderBlock& fp) const = 0;
  // Writes the learned transformation into `block` for good (weights fake-quantized, stored
  // de-quantized) and appends "<prefix><linear>.weight_scale/_zero" to `qparams`.
  virtual void fold(DecoderBlock& block, const std::string& prefix,
                    std::vector<std::pair<std::string, at::Tensor>>& qparams) = 0;
  // The learned parameters by name, for per-block checkpoints, and their restoration.
  virtual std::vector<std::pair<std::string, at::Tensor>> state() const = 0;
  virtual void load_state(const std::map<std::string, at::Tensor>& state) = 0;
};

// What a factory may look at to initialise a block's parts.
struct BlockInputs {
  const DecoderBlock& block;  // the FP block
  size_t index;
  const LlamaConfig& config;
  const at::Tensor& x_fp;     // [n, T, hidden]: the FP model's input of this block on the calibration
                              // windows; undefined when the method runs without calibration
  const RopeTables& rope;
  int64_t batch_size;
};

using PartsFactory = std::function<std::unique_ptr<BlockParts>(const BlockInputs& in)>;

// The training loss of one step: (quantized block output, FP target) -> scalar. Empty = MSE (OmniQuant).
using BlockLoss = std::function<at::Tensor(const at::Tensor& out, const at::Tensor& target)>;

struct ReconOptions {
  int epochs = 20;
  int64_t batch_size = 1;
  bool aug_loss = false;  // + MSE(out, target_2), whatever `loss` is (the reference's --aug_loss term)
  BlockLoss loss;
  PrecisionPolicy precision;  // recon/precision.h; the default (fp32) is the CPU policy
  bool progress = true;
  // Per-block checkpoints: after block i trains, its learned parameters go to
  // <checkpoint_dir>/block_<i>.safetensors (atomically); a later run with the same `checkpoint_key`
  // loads them instead of training, so an interrupted method resumes at its first unfinished block
  // with the same result. A file written under another key is an error. "" = no checkpoints.
  std::string checkpoint_dir;
  std::string checkpoint_key;
  // A NaN/Inf loss: "stop" (an error naming block, epoch and step) or "skip-block": the block keeps the
  // method's fallback (`fallback_fold`, e.g. RTN) and the run goes on; the report lists such blocks.
  std::string nan_policy = "stop";
  // Where x_fp, x_q and the targets live (recon/activation_home.h): "auto", "device" or "host".
  std::string activations = "auto";
  std::function<void(DecoderBlock&, const std::string& prefix, std::vector<std::pair<std::string, at::Tensor>>& qparams)>
      fallback_fold;
};

struct BlockLog {
  double first_epoch_loss = 0, last_epoch_loss = 0;  // mean training loss of the first / last epoch
  double seconds = 0;
  bool resumed = false;  // loaded from a checkpoint instead of trained
  std::string skipped;   // non-empty: why training was abandoned and the fallback folded (nan_policy)
};

struct ReconReport {
  std::vector<BlockLog> blocks;
  std::vector<std::pair<std::string, at::Tensor>> qparams;
  nlohmann::json to_json() const;
};

// <checkpoint_dir>/partial_<unit as a slug>.safetensors, e.g. "block 3" -> partial_block_3.safetensors.
std::string partial_checkpoint_path(const std::string& checkpoint_dir, const std::string& unit);

// The key of a method's checkpoints: exactly this setting, resolved config and calibration windows.
std::string checkpoint_key(const std::string& setting, const nlohmann::json& config, const at::Tensor& calibration);

// Applies `f` to each batch of `batch` rows of `x` ([n, T, H]) and stacks the results along dim 0 where x
// lives. With `compute` another device than x's (activations at home on the host), each batch is moved
// there and its result comes back.
at::Tensor map_batches(const at::Tensor& x, int64_t batch, const std::function<at::Tensor(const at::Tensor&)>& f,
                       c10::optional<at::Device> compute = c10::nullopt);

// One training step's loss, built by the caller for the batch of samples starting at `j` (`step` counts
// the steps of the whole run from 0); `logged` is the value averaged into the epoch means (e.g. the
// reconstruction term without a regulariser).
struct StepLoss {
  at::Tensor loss;
  double logged = std::numeric_limits<double>::quiet_NaN();  // NaN: the loss itself
};
using StepLossFn = std::function<StepLoss(int64_t j, int64_t step)>;

// The optimisation loop shared by block reconstruction and CBQ's windows: AdamW over `groups`,
// o.epochs epochs over `n` samples in batches of o.batch_size in fixed order, `step_loss` under autocast
// as o.precision says, dynamic loss scaling, progress ("<label> epoch e/E loss l"). A NaN/Inf loss throws
// "<where> epoch e step s: loss is nan ..." unless `can_skip` (the caller has a fallback and
// o.nan_policy is skip-block): then it stops and returns log.skipped; `done` still advances past the
// unit's remaining steps.
// Preemption (util/stop_request.h): before every step the loop checks for a stop request; with
// o.checkpoint_dir set it saves the unit's state to partial_checkpoint_path(dir, where) and throws
// StopRequested. A later call with the same `where` and key resumes from that file at the same step
// (bit-identical to an uninterrupted run) and removes it when the unit is done.
BlockLog train_steps(const std::vector<train::ParamGroup>& groups, int64_t n, const StepLossFn& step_loss,
                     const std::string& where, const std::string& label, bool can_skip, const ReconOptions& o,
                     Progress& progress, int64_t& done);

// Trains `parts` of `block` (block number `index`) on inputs `x_q` against `target` (and `target_2` when
// o.aug_loss) for o.epochs epochs in fixed order, with activation quantizers `aq`; `progress`/`done`
// count steps. Applies o.nan_policy: a skipped block comes back with log.skipped set. Used by
// reconstruct() and by evaluation-time adaptation (LRQuant's TTA).
BlockLog train_block(BlockParts& parts, const DecoderBlock& block, size_t index, size_t num_blocks, const LlamaConfig& config,
                     const at::Tensor& x_q, const at::Tensor& target, const at::Tensor& target_2, const RopeTables& rope,
                     const quant::ActivationQuant& aq, const ReconOptions& o, Progress& progress, int64_t& done);

// Runs the procedure above over every block of `model` (in place). `calibration`: [n, seqlen] int64;
// with epochs 0 the parts are folded at their initial values (computed from the calibration windows
// when given: `calibration` may then be [0, 0]). model.act_quant must already hold the setting's
// activation quantizers (used on the quantized path).
ReconReport reconstruct(LlamaModel& model, const at::Tensor& calibration, const PartsFactory& make_parts,
                        const ReconOptions& options);

}  // namespace ptq::recon
