#include "methods/lrquant/tta.h"

#include "harness/ptq/config_schema.h"
#include "harness/recon/block_recon.h"
#include "harness/util/progress.h"
#include "methods/lrquant/nlc_loss.h"
#include "methods/omniquant/omni_parts.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>

namespace ptq::methods {

namespace {

DecoderBlock deep_copy(const DecoderBlock& b) {
  DecoderBlock c = b;
  for (auto& [name, t] : c.named_tensors()) *t = t->detach().clone();
  return c;
}

// The hidden states entering block `last` for each window (one window per forward, each block read once).
at::Tensor last_block_inputs(const LlamaModel& q, const at::Tensor& windows, const RopeTables& rope, bool through_blocks,
                             size_t last) {
  at::NoGradGuard no_grad;
  const at::Tensor h = q.embed(windows);
  return through_blocks ? q.forward_blocks(h, rope, 0, last, 1) : h;
}

}  // namespace

const std::vector<std::pair<std::string, TtaMode>>& tta_mode_names() {
  static const std::vector<std::pair<std::string, TtaMode>> names = {{"paper", TtaMode::kPaper}, {"released", TtaMode::kReleased}};
  return names;
}

namespace {

// The largest batch size up to `wanted` that divides the `n` windows (the steps take whole batches).
int64_t dividing_batch(int64_t wanted, int64_t n) {
  for (int64_t b = std::min(wanted, n); b > 1; --b)
    if (n % b == 0) return b;
  return 1;
}

// What the adaptation trains on: the FP last block (float32 under an fp32-block policy), its inputs
// and its FP outputs on the task's windows.
struct AdaptationData {
  DecoderBlock fp;
  at::Tensor x, target;
};

AdaptationData adaptation_data(const LlamaModel& q, const DecoderBlock& fp, const at::Tensor& windows, const RopeTables& rope,
                               bool released, const TtaOptions& o) {
  at::NoGradGuard no_grad;
  const size_t last = q.num_blocks() - 1;
  AdaptationData d{fp, last_block_inputs(q, windows, rope, /*through_blocks=*/!released, last), {}};
  if (o.precision.fp32_block) {
    d.fp = deep_copy(fp);
    d.fp.cast(at::kFloat);
    d.x = d.x.to(at::kFloat);
  }
  // One window at a time, as the reference computes the FP target.
  d.target = recon::map_batches(d.x, 1, [&](const at::Tensor& xb) { return decoder_block_forward(d.fp, q.config(), xb, rope); });
  return d;
}

recon::ReconOptions tta_recon_options(const TtaOptions& o, int64_t windows, bool progress) {
  recon::ReconOptions ro;
  ro.epochs = o.epochs;
  ro.batch_size = dividing_batch(o.batch_size, windows);
  ro.nan_policy = o.nan_policy;
  ro.precision = o.precision;
  ro.progress = progress;
  const NlcForm nlc = o.nlc;
  ro.loss = [nlc](const at::Tensor& out, const at::Tensor& y) { return mse_plus_nlc(out, y, nlc); };
  return ro;
}

std::unique_ptr<recon::BlockParts> tta_parts(const AdaptationData& d, size_t last, const LlamaConfig& cfg, const RopeTables& rope,
                                             const TtaOptions& o) {
  methods::LwcOptions lwc;
  lwc.enabled = o.lwc;
  lwc.lr = o.lwc_lr;
  methods::LetOptions let;
  let.enabled = o.let;
  let.lr = o.let_lr;
  let.init = "identity";  // TTA.py re-initialises every smooth scale to 1 and shift to 0
  let.shift = let.train_shift = true;
  let.qk_scale = o.qk_scale;
  let.fold_in_fp32 = true;
  return methods::make_omni_parts(recon::BlockInputs{d.fp, last, cfg, d.x, d.x, rope, 1}, o.weight_spec, lwc, let);
}

}  // namespace

quant::EvalAdapter make_tta_adapter(const DecoderBlock& fp_last_block, const TtaOptions& o) {
  const auto fp = std::make_shared<const DecoderBlock>(deep_copy(fp_last_block));
  return [fp, o](const LlamaModel& q, const quant::EvalAdaptationRequest& req, nlohmann::json& details) -> std::shared_ptr<LlamaModel> {
    details = {{"what", "LRQuant test-time adaptation of the last block"},
               {"mode", quant::name_in(tta_mode_names(), o.mode)},
               {"transductive", true},
               {"note", "adapted on the unlabelled windows that are then scored"}};
    if (!o.all_datasets && req.task == req.calibration_dataset) {
      details["applied"] = false;
      details["reason"] = "the evaluation dataset is the calibration dataset (the released code adapts only on others)";
      return nullptr;
    }
    const bool released = o.mode == TtaMode::kReleased;
    const size_t last = q.num_blocks() - 1;
    const at::Tensor windows = req.segments->to(q.device());
    const RopeTables rope = q.rope(windows.size(1));
    const AdaptationData d = adaptation_data(q, *fp, windows, rope, released, o);
    const auto parts = tta_parts(d, last, q.config(), rope, o);
    const recon::ReconOptions ro = tta_recon_options(o, d.x.size(0), req.progress);
    const ActivationHookPtr aq = released ? nullptr : q.activation_hook(last);
    Progress progress("tta " + req.task, o.epochs * d.x.size(0) / ro.batch_size, 10.0);
    int64_t done = 0;
    const recon::BlockLog log = recon::train_block(*parts, d.fp, last, q.num_blocks(), q.config(), d.x, d.target, {}, rope, aq, ro, progress, done);
    if (req.progress) progress.finish(fmt::format("last block adapted on {} windows", d.x.size(0)));
    details["windows"] = d.x.size(0);
    details["batch_size"] = ro.batch_size;
    if (!log.skipped.empty()) {  // nan_policy skip-block: the task is scored on the unadapted model
      details["applied"] = false;
      details["reason"] = "nan_policy skip-block: " + log.skipped;
      return nullptr;
    }
    auto adapted = std::make_shared<LlamaModel>(q);  // shares every tensor; only the last block is replaced
    DecoderBlock block = d.fp;                        // folding assigns new tensors: *fp stays as it is
    std::vector<std::pair<std::string, at::Tensor>> qparams;
    parts->fold(block, fmt::format("model.layers.{}.", last), qparams);
    if (o.precision.fp32_block) block.cast(q.dtype());
    adapted->pin_block(last, block);
    if (released) adapted->set_activation_hook(last, nullptr);  // the released code leaves it in float
    details["applied"] = true;
    details["block"] = last;
    details["epochs"] = o.epochs;
    details["precision"] = o.precision.describe();
    details["lwc"] = o.lwc;
    details["activation_quantization_in_block"] = !released;
    details["first_epoch_loss"] = log.first_epoch_loss;
    details["last_epoch_loss"] = log.last_epoch_loss;
    return adapted;
  };
}

}  // namespace ptq::methods
