// The learnable parts of one CBQ block: for each of the seven linears a learnable step size S^W = S0 * f
// (S0: the min/max scale of the CFP-processed weight; f learned from 1), the fixed zero point, and the rounding (LoRA-Rounding,
// full-rank AdaRound, or round-to-nearest with a straight-through estimator).
#pragma once

#include "cbq/lora_rounding.h"
#include "model/llama_model.h"
#include "train/adamw.h"

#include <memory>
#include <string>
#include <vector>

namespace ptq::methods::cbq {

struct CbqPartsOptions {
  quant::QuantizerSpec weight_spec;
  std::string rounding = "lora";  // lora | full | nearest
  int64_t rank = 8;
  double step_lr = 1e-2, rounding_lr = 1e-3;
};

class CbqBlockParts {
 public:
  // `block`: the block to quantize (already CFP-processed).
  CbqBlockParts(const DecoderBlock& block, const CbqPartsOptions& o);
  std::vector<train::ParamGroup> param_groups();
  DecoderBlock temporary_block() const;  // soft rounding, differentiable
  at::Tensor regularizer(double beta) const;  // mean over linears of the mean rounding regulariser; 0 for nearest
  // The final block (hardened offsets), and its scales / zero points under "<prefix><linear>.weight_*".
  DecoderBlock hardened_block(const std::string& prefix, std::vector<std::pair<std::string, at::Tensor>>& qparams) const;
  int64_t rounding_parameters() const;

 private:
  at::Tensor weight_of(size_t k, bool hard) const;
  DecoderBlock block_;
  CbqPartsOptions o_;
  std::vector<at::Tensor> weights_, init_steps_, steps_, zeros_;  // steps_: learnable factors of init_steps_
  std::vector<std::unique_ptr<LoraRounding>> rounding_;
};

}  // namespace ptq::methods::cbq
