#include "methods/lrquant/tta.h"

#include "harness/ptq/config_schema.h"
#include "harness/recon/block_recon.h"
#include "harness/util/progress.h"
#include "methods/lrquant/nlc_loss.h"
#include "methods/omniquant/omni_parts.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

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
    const LlamaConfig& cfg = q.config();
    const at::Tensor windows = req.segments->to(q.device());
    const RopeTables rope = q.rope(windows.size(1));
    const at::Tensor x = last_block_inputs(q, windows, rope, /*through_blocks=*/!released, last);
    at::Tensor target;
    {
      at::NoGradGuard no_grad;
      std::vector<at::Tensor> t;
      for (int64_t j = 0; j < x.size(0); ++j) t.push_back(decoder_block_forward(*fp, cfg, x.narrow(0, j, 1), rope));
      target = at::cat(t, 0);
    }
    methods::LwcOptions lwc;
    lwc.lr = o.lwc_lr;
    methods::LetOptions let;
    let.enabled = o.let;
    let.lr = o.let_lr;
    let.init = "identity";  // TTA.py re-initialises every smooth scale to 1 and shift to 0
    let.shift = let.train_shift = true;
    let.qk_scale = o.qk_scale;
    let.fold_in_fp32 = true;
    auto parts = methods::make_omni_parts(recon::BlockInputs{*fp, last, cfg, x, x, rope, 1}, o.weight_spec, lwc, let);
    recon::ReconOptions ro;
    ro.epochs = o.epochs;
    ro.batch_size = 1;
    ro.progress = req.progress;
    const NlcForm nlc = o.nlc;
    ro.loss = [nlc](const at::Tensor& out, const at::Tensor& y) { return mse_plus_nlc(out, y, nlc); };
    const ActivationHookPtr aq = released ? nullptr : q.activation_hook(last);
    Progress progress("tta " + req.task, o.epochs * x.size(0), 10.0);
    int64_t done = 0;
    const recon::BlockLog log = recon::train_block(*parts, *fp, last, q.num_blocks(), cfg, x, target, {}, rope, aq, ro, progress, done);
    if (req.progress) progress.finish(fmt::format("last block adapted on {} windows", x.size(0)));

    auto adapted = std::make_shared<LlamaModel>(q);  // shares every tensor; only the last block is replaced
    DecoderBlock block = *fp;                         // folding assigns new tensors: *fp stays as it is
    std::vector<std::pair<std::string, at::Tensor>> qparams;
    parts->fold(block, fmt::format("model.layers.{}.", last), qparams);
    adapted->pin_block(last, block);
    if (released) adapted->set_activation_hook(last, nullptr);  // the released code leaves it in float
    details["applied"] = true;
    details["block"] = last;
    details["windows"] = x.size(0);
    details["epochs"] = o.epochs;
    details["activation_quantization_in_block"] = !released;
    details["first_epoch_loss"] = log.first_epoch_loss;
    details["last_epoch_loss"] = log.last_epoch_loss;
    return adapted;
  };
}

}  // namespace ptq::methods
