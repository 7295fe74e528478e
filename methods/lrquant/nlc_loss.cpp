#include "methods/lrquant/nlc_loss.h"

#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

at::Tensor nlc_loss(const at::Tensor& out, const at::Tensor& target, const std::string& form) {
  const at::Tensor cos = at::cosine_similarity(out, target, /*dim=*/2, /*eps=*/1e-8);  // [B, T]
  if (form == "released") return -at::log(cos.mean().abs());
  if (form == "per_token") return -at::log(cos.abs()).mean();
  throw InputError(fmt::format("NLC loss form \"{}\" (expected released or per_token)", form));
}

}  // namespace ptq::methods
