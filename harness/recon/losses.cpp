#include "harness/recon/losses.h"

#include <ATen/ATen.h>

namespace ptq::recon {

at::Tensor hidden_softmax_kl(const at::Tensor& out, const at::Tensor& target) {
  const at::Tensor lp = at::log_softmax(target.to(at::kFloat), -1), lq = at::log_softmax(out.to(at::kFloat), -1);
  return (lp.exp() * (lp - lq)).sum(-1).mean();
}

}  // namespace ptq::recon
