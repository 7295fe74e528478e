#include "methods/lrquant/lae_init.h"

#include <ATen/ATen.h>

namespace ptq::methods {

LetParams lae_init(const DecoderBlock& b, const LlamaConfig& c, const LinearInputAbsMax& act, bool with_shift, bool with_qk) {
  LetParams p = smoothquant_init(b, c, act, 0.5, false, with_shift, with_qk);  // shapes, shifts, s3
  at::NoGradGuard no_grad;
  const auto lae = [](const at::Tensor& a) {
    const at::Tensor x = a.clamp_min(1e-5);
    return (x / at::log2(x + 2.0)).clamp_min(1e-5);
  };
  p.qkv_scale = lae(act.qkv);
  p.out_scale = lae(max_per_kv_channel(act.out, c));
  p.fc1_scale = lae(act.fc1);
  return p;
}

}  // namespace ptq::methods
