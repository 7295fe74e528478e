#include "methods/mppq/mixed_loss.h"

#include "harness/recon/losses.h"
#include "methods/lrquant/nlc_loss.h"

#include <ATen/ATen.h>

namespace ptq::methods {

at::Tensor mixed_loss(const at::Tensor& out, const at::Tensor& target, const MixedLossWeights& w) {
  at::Tensor l = w.mse * at::mse_loss(out, target);
  if (w.cos > 0) l = l + w.cos * nlc_loss(out, target, NlcForm::kReleased);
  if (w.kl > 0) l = l + w.kl * recon::hidden_softmax_kl(out, target);
  return l;
}

}  // namespace ptq::methods
