// Block-output losses beyond MSE that more than one method's loss terms use. A loss term that one
// method owns lives in its folder (LRQuant's NLC: methods/lrquant/nlc_loss.h; MPPQ's mixed metric:
// methods/mppq/mixed_loss.h).
#pragma once

#include <ATen/core/Tensor.h>

namespace ptq::recon {

// Mean over tokens of KL(softmax(target) || softmax(out)) over the hidden dimension, in float32 (CBQ's
// distribution term, MPPQ's KL metric).
at::Tensor hidden_softmax_kl(const at::Tensor& out, const at::Tensor& target);

}  // namespace ptq::recon
