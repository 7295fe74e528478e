// Where a quantized model fake-quantizes activations, as the model sees it: the model declares the
// points of a block's forward (ActivationSite) and calls a hook there; what happens at each point is
// implemented above the model (quant/act_quant.h: per-token min/max quantizers with optional learned
// clipping). A block without a hook computes in floating point.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ptq {

enum class ActivationSite : int {
  // The input of a group of linears (q/k/v share one, gate/up share one): per token.
  kQkvInput = 0,
  kOutInput = 1,
  kGateUpInput = 2,
  kDownInput = 3,
  // Q after RoPE (before the 1/sqrt(d) scaling), K after RoPE, V: per (head, token) over head_dim.
  kQuery = 4,
  kKey = 5,
  kValue = 6,
};
constexpr int kLinearInputSites = 4;  // the sites that feed a linear come first

class ActivationHook {
 public:
  virtual ~ActivationHook() = default;
  // x as the block's forward continues with it at `site` (same shape and dtype).
  virtual at::Tensor apply(const at::Tensor& x, ActivationSite site) const = 0;
  // Learned tensors saved with the block's checkpoint tensors as "model.layers.<i>.<name>" (e.g. CBQ's
  // clipping logits); none by default.
  virtual std::vector<std::pair<std::string, at::Tensor>> saved_tensors() const { return {}; }
};

using ActivationHookPtr = std::shared_ptr<const ActivationHook>;

// x after `hook` at `site`; x itself without a hook.
inline at::Tensor at_site(const ActivationHook* hook, const at::Tensor& x, ActivationSite site) {
  return hook != nullptr ? hook->apply(x, site) : x;
}

}  // namespace ptq
