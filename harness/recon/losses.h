// Block-output losses beyond OmniQuant's MSE.
//
// LRQuant's negative log cosine (NLC) loss (quantize/RLQuant.py of zjq0455/RLQ;
// research/omniquant_lrquant.md §2.2): cosine similarity per token over the hidden dimension
// (torch.nn.CosineSimilarity(dim=2), eps 1e-8), then
//   "released":  -log | mean over batch and tokens of cos |   (the mean first, as the code does)
//   "per_token": mean over batch and tokens of -log |cos|      (the paper's formula read per token)
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace ptq::recon {

// out, target: [B, T, hidden]. `form`: "released" | "per_token" (anything else: InputError).
at::Tensor nlc_loss(const at::Tensor& out, const at::Tensor& target, const std::string& form = "released");

// Mean over tokens of KL(softmax(target) || softmax(out)) over the hidden dimension, in float32 (CBQ's
// distribution term, MPPQ's KL metric).
at::Tensor hidden_softmax_kl(const at::Tensor& out, const at::Tensor& target);

// MPPQ's mixed-metric supervision [A: research/cbq_mppq.md §2.4]:
//   mse * MSE(out, target) + cos * NLC_released(out, target) + kl * hidden_softmax_kl(out, target)
struct MixedLossWeights {
  double mse = 1.0, cos = 1.0, kl = 1.0;
};
at::Tensor mixed_loss(const at::Tensor& out, const at::Tensor& target, const MixedLossWeights& w);

}  // namespace ptq::recon
