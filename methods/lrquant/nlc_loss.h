// LRQuant's negative log cosine (NLC) loss (quantize/RLQuant.py of zjq0455/RLQ;
// research/omniquant_lrquant.md §2.2): cosine similarity per token over the hidden dimension
// (torch.nn.CosineSimilarity(dim=2), eps 1e-8), then
//   "released":  -log | mean over batch and tokens of cos |   (the mean first, as the code does)
//   "per_token": mean over batch and tokens of -log |cos|      (the paper's formula read per token)
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace ptq::methods {

// The NLC term of a loss: one of the two forms above, or none (kOff: MSE only, an ablation).
enum class NlcForm { kReleased, kPerToken, kOff };
const std::vector<std::pair<std::string, NlcForm>>& nlc_form_names();  // "released", "per_token", "off"

// out, target: [B, T, hidden]. std::invalid_argument for kOff (callers add no term then).
at::Tensor nlc_loss(const at::Tensor& out, const at::Tensor& target, NlcForm form = NlcForm::kReleased);
// MSE(out, target) plus the NLC term of `form`.
at::Tensor mse_plus_nlc(const at::Tensor& out, const at::Tensor& target, NlcForm form);

}  // namespace ptq::methods
