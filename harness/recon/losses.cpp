#include "recon/losses.h"

#include "util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::recon {

at::Tensor nlc_loss(const at::Tensor& out, const at::Tensor& target, const std::string& form) {
  const at::Tensor cos = at::cosine_similarity(out, target, /*dim=*/2, /*eps=*/1e-8);  // [B, T]
  if (form == "released") return -at::log(cos.mean().abs());
  if (form == "per_token") return -at::log(cos.abs()).mean();
  throw InputError(fmt::format("NLC loss form \"{}\" (expected released or per_token)", form));
}

at::Tensor hidden_softmax_kl(const at::Tensor& out, const at::Tensor& target) {
  const at::Tensor lp = at::log_softmax(target.to(at::kFloat), -1), lq = at::log_softmax(out.to(at::kFloat), -1);
  return (lp.exp() * (lp - lq)).sum(-1).mean();
}

at::Tensor mixed_loss(const at::Tensor& out, const at::Tensor& target, const MixedLossWeights& w) {
  at::Tensor l = w.mse * at::mse_loss(out, target);
  if (w.cos > 0) l = l + w.cos * nlc_loss(out, target, "released");
  if (w.kl > 0) l = l + w.kl * hidden_softmax_kl(out, target);
  return l;
}

}  // namespace ptq::recon
