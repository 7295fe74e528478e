#include "quant/fused_fake_quant.h"

#include "quant/fused_fake_quant_math.h"
#ifdef PTQ_WITH_CUDA
#include "quant/fused_fake_quant_cuda.h"

#include <c10/cuda/CUDAStream.h>
#endif

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <stdexcept>

namespace ptq::quant {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

float qmax_of(int64_t bits) { return static_cast<float>((int64_t{1} << bits) - 1); }

// What backward needs per token, beside x itself.
struct RowState {
  at::Tensor scale, zero, clamped, argmin, argmax;
};

RowState empty_state(int64_t rows, const at::TensorOptions& o) {
  return {at::empty({rows}, o.dtype(at::kFloat)), at::empty({rows}, o.dtype(at::kFloat)), at::empty({rows}, o.dtype(at::kByte)),
          at::empty({rows}, o.dtype(at::kLong)), at::empty({rows}, o.dtype(at::kLong))};
}

fused::RowParams params_of(const RowState& s, int64_t r) {
  return {s.scale.data_ptr<float>()[r], s.zero.data_ptr<float>()[r], s.clamped.data_ptr<uint8_t>()[r] != 0};
}

void forward_cpu(const at::Tensor& x, at::Tensor& y, RowState& s, int64_t bits, float clip) {
  const int64_t rows = x.size(0), n = x.size(1);
  const float q = qmax_of(bits);
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* row = xp + r * n;
      int64_t imin = 0, imax = 0;
      for (int64_t i = 1; i < n; ++i) {  // first occurrence on ties, as max(dim)/min(dim) on CPU
        if (row[i] < row[imin]) imin = i;
        if (row[i] > row[imax]) imax = i;
      }
      const fused::RowParams p = fused::row_params(row[imin], row[imax], clip, q);
      for (int64_t i = 0; i < n; ++i) {
        bool inside;
        yp[r * n + i] = fused::dequantized(fused::grid_value(row[i], p, q, &inside), p);
      }
      s.scale.data_ptr<float>()[r] = p.scale;
      s.zero.data_ptr<float>()[r] = p.zero;
      s.clamped.data_ptr<uint8_t>()[r] = p.scale_clamped ? 1 : 0;
      s.argmin.data_ptr<int64_t>()[r] = imin;
      s.argmax.data_ptr<int64_t>()[r] = imax;
    }
  });
}

void backward_cpu(const at::Tensor& x, const at::Tensor& g, at::Tensor& gx, const RowState& s, at::Tensor& clip_rows,
                  int64_t bits, float clip) {
  const int64_t rows = x.size(0), n = x.size(1);
  const float q = qmax_of(bits);
  const float *xp = x.data_ptr<float>(), *gp = g.data_ptr<float>();
  float* gxp = gx.data_ptr<float>();
  float* cp = clip_rows.data_ptr<float>();
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const fused::RowParams p = params_of(s, r);
      const float *row = xp + r * n, *grow = gp + r * n;
      float* out = gxp + r * n;
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        bool inside;
        const float grid = fused::grid_value(row[i], p, q, &inside);
        sum += fused::scale_grad_term(row[i], grow[i], grid, inside, p);
        out[i] = fused::direct_x_grad(grow[i], inside, p);
      }
      const float gq = p.scale_clamped ? 0.0f : static_cast<float>(sum) / q;  // dL/dhi; dL/dlo = -gq
      const int64_t imin = s.argmin.data_ptr<int64_t>()[r], imax = s.argmax.data_ptr<int64_t>()[r];
      out[imax] += clip * gq;
      out[imin] -= clip * gq;
      cp[r] = gq * (row[imax] - row[imin]);
    }
  });
}

#ifdef PTQ_WITH_CUDA
fused::ElementType element_type(const at::Tensor& x) {
  switch (x.scalar_type()) {
    case at::kFloat: return fused::ElementType::kFloat;
    case at::kHalf: return fused::ElementType::kHalf;
    case at::kBFloat16: return fused::ElementType::kBFloat16;
    default: throw std::invalid_argument("fused_fake_quant_per_token: CUDA handles fp32, fp16 and bf16");
  }
}
void* current_stream(const at::Tensor& x) { return c10::cuda::getCurrentCUDAStream(x.device().index()).stream(); }
#endif

struct FusedPerToken : public torch::autograd::Function<FusedPerToken> {
  // x2: [rows, n] contiguous; clip: sigmoid(clip_logit) as a 1-element float tensor on x's device, or
  // undefined; clip_logit: a scalar, or an empty tensor when there is none (LibTorch 1.13's Function
  // cannot take undefined inputs).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x2, const at::Tensor& clip_logit, int64_t bits) {
    const at::Tensor clip = clip_logit.numel() == 1 ? at::sigmoid(clip_logit.to(at::kFloat)).reshape({1}) : at::Tensor();
    RowState s = empty_state(x2.size(0), x2.options());
    at::Tensor y = at::empty_like(x2);
    if (x2.is_cuda()) {
#ifdef PTQ_WITH_CUDA
      fused::per_token_forward_cuda(x2.data_ptr(), y.data_ptr(), s.scale.data_ptr<float>(), s.zero.data_ptr<float>(),
                                    s.clamped.data_ptr<uint8_t>(), s.argmin.data_ptr<int64_t>(), s.argmax.data_ptr<int64_t>(),
                                    x2.size(0), x2.size(1), static_cast<int>(bits),
                                    clip.defined() ? clip.data_ptr<float>() : nullptr, element_type(x2), current_stream(x2));
#else
      throw std::logic_error("fused_fake_quant_per_token: built without CUDA");
#endif
    } else {
      forward_cpu(x2, y, s, bits, clip.defined() ? clip.item<float>() : 1.0f);
    }
    ctx->save_for_backward({x2});
    ctx->saved_data["scale"] = s.scale;
    ctx->saved_data["zero"] = s.zero;
    ctx->saved_data["clamped"] = s.clamped;
    ctx->saved_data["argmin"] = s.argmin;
    ctx->saved_data["argmax"] = s.argmax;
    ctx->saved_data["bits"] = bits;
    ctx->saved_data["has_clip"] = clip.defined();
    if (clip.defined()) ctx->saved_data["clip"] = clip;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor x2 = ctx->get_saved_variables()[0];
    const RowState s{ctx->saved_data["scale"].toTensor(), ctx->saved_data["zero"].toTensor(),
                     ctx->saved_data["clamped"].toTensor(), ctx->saved_data["argmin"].toTensor(),
                     ctx->saved_data["argmax"].toTensor()};
    const int64_t bits = ctx->saved_data["bits"].toInt();
    const bool has_clip = ctx->saved_data["has_clip"].toBool();
    const at::Tensor clip = has_clip ? ctx->saved_data["clip"].toTensor() : at::Tensor();
    const at::Tensor g = grads[0].to(x2.scalar_type()).contiguous();
    at::Tensor gx = at::empty_like(x2);
    at::Tensor clip_rows = at::empty({x2.size(0)}, x2.options().dtype(at::kFloat));
    if (x2.is_cuda()) {
#ifdef PTQ_WITH_CUDA
      fused::per_token_backward_cuda(x2.data_ptr(), g.data_ptr(), gx.data_ptr(), s.scale.data_ptr<float>(),
                                     s.zero.data_ptr<float>(), s.clamped.data_ptr<uint8_t>(), s.argmin.data_ptr<int64_t>(),
                                     s.argmax.data_ptr<int64_t>(), has_clip ? clip_rows.data_ptr<float>() : nullptr,
                                     x2.size(0), x2.size(1), static_cast<int>(bits),
                                     has_clip ? clip.data_ptr<float>() : nullptr, element_type(x2), current_stream(x2));
#endif
    } else {
      backward_cpu(x2, g, gx, s, clip_rows, bits, has_clip ? clip.item<float>() : 1.0f);
    }
    at::Tensor gclip;
    if (has_clip) gclip = (clip_rows.sum() * clip * (1 - clip)).reshape({});  // d sigmoid = c (1 - c)
    return {gx, gclip, at::Tensor()};
  }
};

}  // namespace

bool fused_per_token_supported(const at::Tensor& x, const QuantizerSpec& spec) {
  if (!spec.enabled() || spec.symmetric || spec.range != RangeRule::kMinMax) return false;
  if (x.dim() < 1 || x.numel() == 0 || x.size(-1) == 0) return false;
  if (x.is_cuda()) {
#ifdef PTQ_WITH_CUDA
    return x.scalar_type() == at::kFloat || x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16;
#else
    return false;
#endif
  }
  return x.device().is_cpu() && x.scalar_type() == at::kFloat;
}

at::Tensor fused_fake_quant_per_token(const at::Tensor& x, const QuantizerSpec& spec, const at::Tensor& clip_logit) {
  if (!spec.enabled()) return x;
  if (!fused_per_token_supported(x, spec))
    throw std::invalid_argument("fused_fake_quant_per_token: needs an asymmetric min/max quantizer and fp32 (CPU) or "
                                "fp32/fp16/bf16 (CUDA) input");
  if (clip_logit.defined() && clip_logit.numel() != 1)
    throw std::invalid_argument("fused_fake_quant_per_token: clip_logit must be a scalar");
  const at::Tensor x2 = x.reshape({-1, x.size(-1)}).contiguous();
  const at::Tensor logit = clip_logit.defined() ? clip_logit.reshape({}) : at::empty({0}, x.options().dtype(at::kFloat));
  return FusedPerToken::apply(x2, logit, static_cast<int64_t>(spec.bits)).reshape(x.sizes());
}

}  // namespace ptq::quant
