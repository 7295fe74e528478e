// The activation quantizers a quantized model's blocks run with, behind the model's hook interface
// (model/activation_hook.h). OmniQuant's placement for LLaMA (models/int_llama_layer.py;
// research/omniquant_lrquant.md §1.2):
//   - the input of every decoder linear, per token (q/k/v share one input, gate/up share one input: while
//     training each linear quantizes it again, as the reference's QuantLinears, so the gradients sum in
//     the reference's way; without gradients it is quantized once - the same values);
//   - Q after RoPE and before the 1/sqrt(d) scaling, K after RoPE, V: per (head, token) over head_dim,
//     K and V after the GQA repeat (as the reference; the values equal those before it, the backward
//     sums each repeated head's quantizer).
// The softmax output, embeddings, final norm and lm_head are never quantized.
// Optionally with learned clipping of the four linear-input quantizers (CBQ's S^X): each site's range is
// scaled by sigmoid(logit).
#pragma once

#include "harness/model/activation_hook.h"
#include "harness/quant/uniform_quantizer.h"

namespace ptq::quant {

struct ActivationQuant {
  QuantizerSpec linear_input;  // per token
  QuantizerSpec qkv;           // per (head, token)
  bool enabled() const { return linear_input.enabled() || qkv.enabled(); }
};

// A clipping logit that clips nothing: sigmoid(30) rounds to 1 in fp32 and fp16.
constexpr double kNoActClipLogit = 30.0;

class ActivationQuantizer final : public ActivationHook {
 public:
  // `clip_logits`: [kLinearInputSites], or undefined for plain min/max ranges. Differentiable: a method
  // training the logits passes them with requires_grad.
  explicit ActivationQuantizer(ActivationQuant spec, at::Tensor clip_logits = {});
  at::Tensor apply(const at::Tensor& x, ActivationSite site) const override;
  // {kActClipTensor, the logits} when there are learned logits.
  std::vector<std::pair<std::string, at::Tensor>> saved_tensors() const override;
  const ActivationQuant& spec() const { return spec_; }

 private:
  ActivationQuant spec_;
  at::Tensor clip_logits_;
};

// The hook for `spec` (null when it quantizes nothing), optionally with learned clipping.
ActivationHookPtr activation_quantizer(const ActivationQuant& spec, at::Tensor clip_logits = {});
// `base`'s quantizers with `clip_logits` (null `base`: null). InvalidArgument when `base` is not an
// ActivationQuantizer.
ActivationHookPtr with_clipping(const ActivationHookPtr& base, at::Tensor clip_logits);

}  // namespace ptq::quant
