// LRQuant's negative log cosine (NLC) loss (quantize/RLQuant.py of zjq0455/RLQ;
// research/omniquant_lrquant.md §2.2): cosine similarity per token over the hidden dimension
// (torch.nn.CosineSimilarity(dim=2), eps 1e-8), then
//   "released":  -log | mean over batch and tokens of cos |   (the mean first, as the code does)
//   "per_token": mean over batch and tokens of -log |cos|      (the paper's formula read per token)
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace ptq::methods {

// out, target: [B, T, hidden]. `form`: "released" | "per_token" (anything else: InputError).
at::Tensor nlc_loss(const at::Tensor& out, const at::Tensor& target, const std::string& form = "released");

}  // namespace ptq::methods
