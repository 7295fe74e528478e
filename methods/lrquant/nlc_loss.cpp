#include "methods/lrquant/nlc_loss.h"

#include <ATen/ATen.h>
#include <stdexcept>

namespace ptq::methods {

const std::vector<std::pair<std::string, NlcForm>>& nlc_form_names() {
  static const std::vector<std::pair<std::string, NlcForm>> names = {
      {"released", NlcForm::kReleased}, {"per_token", NlcForm::kPerToken}, {"off", NlcForm::kOff}};
  return names;
}

at::Tensor nlc_loss(const at::Tensor& out, const at::Tensor& target, NlcForm form) {
  if (form == NlcForm::kOff) throw std::invalid_argument("nlc_loss: the form kOff has no term");
  const at::Tensor cos = at::cosine_similarity(out, target, /*dim=*/2, /*eps=*/1e-8);  // [B, T]
  if (form == NlcForm::kReleased) return -at::log(cos.mean().abs());
  return -at::log(cos.abs()).mean();
}

at::Tensor mse_plus_nlc(const at::Tensor& out, const at::Tensor& target, NlcForm form) {
  const at::Tensor l = at::mse_loss(out, target);
  return form == NlcForm::kOff ? l : l + nlc_loss(out, target, form);
}

}  // namespace ptq::methods
