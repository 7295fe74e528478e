#include "harness/quant/act_quant.h"

#include "harness/model/llama_config.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace ptq::quant {

ActivationQuantizer::ActivationQuantizer(ActivationQuant spec, at::Tensor clip_logits)
    : spec_(std::move(spec)), clip_logits_(std::move(clip_logits)) {
  if (clip_logits_.defined() && clip_logits_.numel() != kLinearInputSites)
    throw std::invalid_argument("ActivationQuantizer: clip_logits must hold one logit per linear-input site");
}

at::Tensor ActivationQuantizer::apply(const at::Tensor& x, ActivationSite site) const {
  const int s = static_cast<int>(site);
  if (s >= kLinearInputSites) return fake_quant_per_token(x, spec_.qkv);
  // The logits in x's dtype and place, as a block's own tensors would be.
  const at::Tensor logit = clip_logits_.defined() ? clip_logits_.to(x.device(), x.scalar_type())[s] : at::Tensor();
  return fake_quant_per_token(x, spec_.linear_input, logit);
}

std::vector<std::pair<std::string, at::Tensor>> ActivationQuantizer::saved_tensors() const {
  if (!clip_logits_.defined()) return {};
  return {{kActClipTensor, clip_logits_}};
}

ActivationHookPtr activation_quantizer(const ActivationQuant& spec, at::Tensor clip_logits) {
  if (!spec.enabled()) return nullptr;
  return std::make_shared<const ActivationQuantizer>(spec, std::move(clip_logits));
}

ActivationHookPtr with_clipping(const ActivationHookPtr& base, at::Tensor clip_logits) {
  if (!base) return nullptr;
  const auto* q = dynamic_cast<const ActivationQuantizer*>(base.get());
  if (q == nullptr) throw std::invalid_argument("with_clipping: the block's activation hook is not an ActivationQuantizer");
  return std::make_shared<const ActivationQuantizer>(q->spec(), std::move(clip_logits));
}

}  // namespace ptq::quant
