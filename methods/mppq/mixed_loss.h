// MPPQ's mixed-metric supervision [A: research/cbq_mppq.md §2.4]:
//   mse * MSE(out, target) + cos * NLC_released(out, target) + kl * hidden_softmax_kl(out, target)
// (NLC from LRQuant, methods/lrquant/nlc_loss.h; the KL term from recon/losses.h).
#pragma once

#include <ATen/core/Tensor.h>

namespace ptq::methods {

struct MixedLossWeights {
  double mse = 1.0, cos = 1.0, kl = 1.0;
};
at::Tensor mixed_loss(const at::Tensor& out, const at::Tensor& target, const MixedLossWeights& w);

}  // namespace ptq::methods
