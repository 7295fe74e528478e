// The learnable parts of one CBQ block: for each of the seven linears a learnable step size S^W = S0 * f
// (S0: the min/max scale of the CFP-processed weight; f learned from 1), the fixed zero point, and the
// rounding (LoRA-Rounding, full-rank AdaRound, or round-to-nearest with a straight-through estimator);
// with quantized activations, the learnable activation steps S^X of the block's four linear inputs.
#pragma once

#include "harness/model/llama_model.h"
#include "harness/quant/act_quant.h"
#include "harness/recon/adamw.h"
#include "methods/cbq/lora_rounding.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ptq::methods::cbq {

// The learned rounding: rank-r LoRA logits (the paper), AdaRound's full-rank logits, or none
// (round-to-nearest with learnable steps).
enum class Rounding { kLora, kFull, kNearest };
// The training forward of the learned rounding: soft offsets (AdaRound), or the hardened ones forward
// with the soft offsets' gradient back (straight-through).
enum class RoundingForward { kSoft, kSte };

struct CbqPartsOptions {
  quant::QuantizerSpec weight_spec;
  Rounding rounding = Rounding::kLora;
  int64_t rank = 8;
  RoundingForward rounding_forward = RoundingForward::kSoft;
  // S^X: a learned clipping logit per activation quantizer at a linear input (quant::ActivationQuantizer),
  // starting at `act_clip_init` (OmniQuant's LWC init: sigmoid(4) = 0.982); off when activations are not
  // quantized.
  bool act_steps = false;
  double act_clip_init = 4.0;
  double step_lr = 1e-2, rounding_lr = 1e-3;
  uint64_t seed = 0;  // LoRA-Rounding's init: linear k of the block draws from seed + k (LoraRoundingOptions)
};

// Soft offsets within 0.01 of 0 or 1, of all (the binarisation AdaRound's regulariser is there to reach).
struct NearBinary {
  int64_t near = 0, total = 0;
  double fraction() const { return total > 0 ? static_cast<double>(near) / static_cast<double>(total) : 0.0; }
};

class CbqBlockParts {
 public:
  // `block`: the block to quantize (already CFP-processed).
  CbqBlockParts(const DecoderBlock& block, const CbqPartsOptions& o);
  std::vector<train::ParamGroup> param_groups();
  DecoderBlock temporary_block() const;  // soft rounding, differentiable
  // The model's activation hook of the block with the learned clipping S^X (differentiable while grad
  // mode is on, a detached copy otherwise); `model_hook` itself without act_steps.
  ActivationHookPtr activation_hook(const ActivationHookPtr& model_hook) const;
  // The rounding regulariser at beta: the sum over the block's rounded weights (`mean`: the mean over the
  // linears of each linear's mean, the form before issue #25); 0 for nearest or during the warm-up.
  at::Tensor regularizer(double beta, bool mean = false) const;
  NearBinary rounding_near_binary() const;
  // The final block (hardened offsets), and its scales / zero points under "<prefix><linear>.weight_*".
  DecoderBlock hardened_block(const std::string& prefix, std::vector<std::pair<std::string, at::Tensor>>& qparams) const;
  int64_t rounding_parameters() const;
  // The learned values by name (per-window checkpoints, and the NaN fallback's snapshot) and their restoration.
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  void load_state(const std::map<std::string, at::Tensor>& state);  // std::out_of_range on a missing name

 private:
  at::Tensor weight_of(size_t k, bool hard) const;
  DecoderBlock block_;
  CbqPartsOptions o_;
  std::vector<at::Tensor> weights_, init_steps_, steps_, zeros_;  // steps_: learnable factors of init_steps_
  std::vector<std::unique_ptr<LoraRounding>> rounding_;
  at::Tensor act_clip_;  // [4] logits (S^X), undefined without act_steps
};

}  // namespace ptq::methods::cbq
