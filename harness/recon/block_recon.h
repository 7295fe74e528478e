// The reconstruction engine shared by OmniQuant, LRQuant, MPPQ and CBQ (and any block-wise method):
// windows of K consecutive blocks moving by K - overlap (recon/window_schedule.h; K = 1 is OmniQuant's
// block-wise procedure, research/omniquant_lrquant.md §1.4; K = 2, overlap 1 is CBQ's cross-block one,
// research/cbq_mppq.md §1.2):
//
//   X_fp = X_q = embed(calibration windows)
//   for each window W of the schedule:
//     blocks entering W: parts P_b = make_parts(FP block b, its FP-path input, X_q)     (warm start after)
//     target   = FP_W(X_fp)                  (the FP blocks of W, no quantization)
//     target_2 = FP_W(X_q)                   (only with a second-target loss: OmniQuant's aug_loss, CBQ's
//                                             homologous term)
//     AdamW over the parts of W, fixed sample order, batch size, epochs:
//       loss = L(Q_W(X_q[j]; P), target[j]) (+ L_2(., target_2[j])) (+ w * mean_b or sum_b regularizer_b)
//     blocks leaving W (the schedule's `hardened`): fold P_b into the block for good, then
//       X_q = B_q(X_q) (quantized weights AND activations), X_fp = B_fp(X_fp)
//
// The engine owns propagation, the step loop (recon/train_loop.h), precision policy, NaN policy,
// activation placement, prefetch of streamed blocks, per-unit checkpoints and preemption; a method
// supplies parts. CPU runs fp32 throughout; CUDA follows the reference's precision policy
// (recon/precision.h). A NaN/Inf loss stops the run naming the unit, epoch and step, or, with nan_policy
// skip-block, restores the unit's parameters to their values at its start and folds the leaving blocks
// with `fallback_fold` (e.g. RTN) or, without one, with those restored parameters.
#pragma once

#include "harness/model/llama_model.h"
#include "harness/ptq/method.h"
#include "harness/ptq/quant_setting.h"
#include "harness/recon/adamw.h"
#include "harness/recon/nan_policy.h"
#include "harness/recon/precision.h"

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

using Named = std::vector<std::pair<std::string, at::Tensor>>;

// The learnable parts of one block.
class BlockParts {
 public:
  virtual ~BlockParts() = default;
  virtual std::vector<train::ParamGroup> param_groups() = 0;
  // Called before every step's temporary_block (OmniQuant truncates its LET scales here).
  virtual void before_step() {}
  // The block as the current parameters make it: differentiable w.r.t. param_groups(). `fp`: the FP
  // block (parts that keep their own pre-processed copy, like CBQ's, may ignore it).
  virtual DecoderBlock temporary_block(const DecoderBlock& fp) const = 0;
  // A term added to the unit's loss at `progress` = steps done / steps of the unit (CBQ's rounding
  // regulariser); undefined = none.
  virtual at::Tensor regularizer(double progress) const { return {}; }
  // Writes the learned transformation into `block` for good (weights fake-quantized, stored
  // de-quantized) and appends "<prefix><linear>.weight_scale/_zero" to `qparams`.
  virtual void fold(DecoderBlock& block, const std::string& prefix, Named& qparams) = 0;
  // The learned parameters by name, for per-block checkpoints, and their restoration.
  virtual Named state() const = 0;
  virtual void load_state(const std::map<std::string, at::Tensor>& state) = 0;
  // The block's activation hook on the quantized path, given the model's (`model_hook`, null: none): during
  // training as the current parameters make it (differentiable), after fold() what the model keeps for
  // the block. Default: the model's. CBQ adds its learned clipping.
  virtual ActivationHookPtr activation_hook(const ActivationHookPtr& model_hook) const { return model_hook; }
};

// The parts of a method that computes its block in closed form (GPTQ, AWQ; no optimiser, epochs 0): the
// method builds `block_` and the block's "<linear>.weight_scale/_zero" in `qparams_` (names relative to
// the block) when the factory makes the parts; fold() hands both over.
class ClosedFormParts : public BlockParts {
 public:
  std::vector<train::ParamGroup> param_groups() override { return {}; }
  DecoderBlock temporary_block(const DecoderBlock&) const override { return block_; }
  void fold(DecoderBlock& block, const std::string& prefix, Named& qparams) override {
    block = block_;
    for (const auto& [name, t] : qparams_) qparams.emplace_back(prefix + name, t);
  }
  Named state() const override { return {}; }
  void load_state(const std::map<std::string, at::Tensor>&) override {}

 protected:
  DecoderBlock block_;
  Named qparams_;
};

// What a factory may look at to initialise a block's parts.
struct BlockInputs {
  const DecoderBlock& block;  // the FP block
  size_t index;
  const LlamaConfig& config;
  const at::Tensor& x_fp;     // [n, T, hidden]: the FP model's input of this block on the calibration
                              // windows; undefined when the method runs without calibration
  const at::Tensor& x_q;      // the quantized path's input of the window the block enters (with K = 1, of
                              // the block itself); available with or without training
  const RopeTables& rope;
  int64_t batch_size;
  const ActivationHook* act_quant = nullptr;  // the block's activation quantizers on the quantized path (engine: set)
};

using PartsFactory = std::function<std::unique_ptr<BlockParts>(const BlockInputs& in)>;

// The training loss of one step: (quantized block output, FP target) -> scalar. Empty = MSE (OmniQuant).
using BlockLoss = std::function<at::Tensor(const at::Tensor& out, const at::Tensor& target)>;


struct ReconOptions {
  // The window schedule: K blocks trained jointly, windows moving by K - overlap (1, 0: block-wise).
  int64_t window = 1, overlap = 0;
  int epochs = 20;
  int64_t batch_size = 1;
  bool aug_loss = false;  // + MSE(out, target_2), whatever `loss` is (the reference's --aug_loss term)
  BlockLoss loss;
  BlockLoss target_2_loss;  // a second term on target_2 other than aug_loss's MSE (CBQ's homologous term)
  double regularizer_weight = 0;  // w of the parts' regularizers (averaged over the window's blocks)
  bool sum_regularizers = false;  // w * the sum over the window's blocks instead (AdaRound: one sum over all)
  PrecisionPolicy precision;  // recon/precision.h; the default (fp32) is the CPU policy
  bool progress = true;
  // Per-unit checkpoints: after a unit (block, or window) trains, its parts' learned parameters go to
  // <checkpoint_dir>/block_<i>.safetensors (window_<w> for K > 1), atomically; a later run with the same
  // `checkpoint_key` loads them instead of training, so an interrupted method resumes at its first
  // unfinished unit with the same result. A file written under another key is an error. "" = none.
  std::string checkpoint_dir;
  std::string checkpoint_key;
  // A NaN/Inf loss: stop (an error naming unit, epoch and step) or skip the unit (see above); the
  // report lists such units.
  NanPolicy nan_policy = NanPolicy::kStop;
  // Where x_fp, x_q and the targets live (model/activation_home.h): "auto", "device" or "host".
  std::string activations = "auto";
  // Appends one JSON line per optimiser step (unit, epoch, step, loss) to this file (recon/loss_log.h;
  // "" = none): the side-by-side comparison with a reference implementation reads it.
  std::string loss_log;
  // The first unit to train writes a Chrome trace of its steps here (every ATen op and autograd node on
  // every thread, LibTorch's profiler), when the file does not exist yet; "" = none. The time per op and
  // step: scripts/profile-summary.
  std::string profile_trace;
  std::function<void(DecoderBlock&, const std::string& prefix, Named& qparams)> fallback_fold;
};

// The options of a closed-form method's run (GPTQ, AWQ): epochs 0, the run's progress and activation
// placement, the setting's precision policy on the model's device and dtype. InputError naming `method`
// when `ctx` holds no calibration windows.
ReconOptions closed_form_options(const std::string& method, const LlamaModel& model, const quant::QuantSetting& setting,
                                 const quant::MethodContext& ctx);

struct BlockLog {
  double first_epoch_loss = 0, last_epoch_loss = 0;  // mean training loss of the first / last epoch
  double seconds = 0;
  bool resumed = false;  // loaded from a checkpoint instead of trained
  std::string skipped;   // non-empty: why training was abandoned and the fallback folded (nan_policy)
};

// One unit of the schedule: its blocks, those folded for good after it, and how its training went.
struct UnitLog {
  std::vector<int64_t> blocks, hardened;
  BlockLog log;
};

struct ReconReport {
  std::vector<UnitLog> units;
  Named qparams;
  // Block-wise: {"blocks": [per block: losses, seconds, resumed, skipped]}; windows: {"windows": [... with
  // "blocks" and "hardened"]}.
  nlohmann::json to_json() const;
};

// The key of a method's checkpoints: exactly this setting, resolved config and calibration windows.
std::string checkpoint_key(const std::string& setting, const nlohmann::json& config, const at::Tensor& calibration);

// Applies `f` to each batch of `batch` rows of `x` ([n, T, H]) and stacks the results along dim 0 where x
// lives. With `compute` another device than x's (activations at home on the host), each batch is moved
// there and its result comes back. Without autograd on the CPU the batches run side by side
// (util/parallel_tasks.h; bit-identical to running them in order), so `f` must be safe to call from
// several threads at once (a block's forward is).
at::Tensor map_batches(const at::Tensor& x, int64_t batch, const std::function<at::Tensor(const at::Tensor&)>& f,
                       c10::optional<at::Device> compute = c10::nullopt);

// Trains `parts` of `block` (block number `index`) on inputs `x_q` against `target` (and `target_2` when
// defined) for o.epochs epochs in fixed order, with the model's activation hook `aq` of the block (the
// parts may replace it); `progress`/`done` count steps. The step loss is the engine's for a window of
// one block. Applies o.nan_policy: a skipped block comes back with log.skipped set. Used by
// evaluation-time adaptation (LRQuant's TTA), which trains one block outside reconstruct().
BlockLog train_block(BlockParts& parts, const DecoderBlock& block, size_t index, size_t num_blocks, const LlamaConfig& config,
                     const at::Tensor& x_q, const at::Tensor& target, const at::Tensor& target_2, const RopeTables& rope,
                     const ActivationHookPtr& aq, const ReconOptions& o, Progress& progress, int64_t& done);

// Runs the procedure above over every block of `model` (in place). `calibration`: [n, seqlen] int64;
// with epochs 0 the parts are folded at their initial values (computed from the calibration windows
// when given: `calibration` may then be [0, 0], and then K must be 1). The model's blocks must already
// hold the setting's activation hooks (used on the quantized path; parts may replace a block's).
ReconReport reconstruct(LlamaModel& model, const at::Tensor& calibration, const PartsFactory& make_parts,
                        const ReconOptions& options);

}  // namespace ptq::recon
