#include "harness/quant/fused_fake_quant.h"

#include "harness/quant/fused_fake_quant_math.h"
#ifdef PTQ_WITH_CUDA
#include "harness/quant/fused_fake_quant_cuda.h"

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

void forward_cpu(const at::Tensor& x, at::Tensor& y, RowState& s, int64_t bits, const fused::Clip& clip) {
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
      const fused::RowParams p = fused::row_params(row[imin], row[imax], clip.hi_of(r), clip.lo_of(r), q);
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

void backward_cpu(const at::Tensor& x, const at::Tensor& g, at::Tensor& gx, const RowState& s, at::Tensor& hi_rows,
                  at::Tensor& lo_rows, int64_t bits, const fused::Clip& clip) {
  const int64_t rows = x.size(0), n = x.size(1);
  const float q = qmax_of(bits);
  const float *xp = x.data_ptr<float>(), *gp = g.data_ptr<float>();
  float* gxp = gx.data_ptr<float>();
  float *hp = hi_rows.data_ptr<float>(), *lp = lo_rows.data_ptr<float>();
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
      out[imax] += clip.hi_of(r) * gq;
      out[imin] -= clip.lo_of(r) * gq;
      hp[r] = gq * row[imax];
      lp[r] = -gq * row[imin];
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

fused::Clip clip_of(const at::Tensor& c_hi, const at::Tensor& c_lo, int64_t stride) {
  return {c_hi.defined() ? c_hi.data_ptr<float>() : nullptr, c_lo.defined() ? c_lo.data_ptr<float>() : nullptr, stride};
}

// sigmoid(logit) as float on x's device, flattened (1 or rows values); undefined for an empty logit.
at::Tensor clip_factors(const at::Tensor& logit) {
  return logit.numel() > 0 ? at::sigmoid(logit.to(at::kFloat)).reshape({-1}).contiguous() : at::Tensor();
}

// The logit's gradient from the per-row dL/dc * (max or min): times the sigmoid's derivative, summed
// over rows when one logit serves them all.
at::Tensor logit_grad(const at::Tensor& rows_grad, const at::Tensor& c, const at::Tensor& logit) {
  if (!c.defined()) return at::Tensor();
  const at::Tensor g = rows_grad * c * (1 - c);
  return (c.numel() == 1 ? g.sum() : g).reshape(logit.sizes()).to(logit.scalar_type());
}

struct FusedRows : public torch::autograd::Function<FusedRows> {
  // x2: [rows, n] contiguous. up / low: the clipping logits of the row maxima / minima: a scalar (every
  // row), [rows] or [rows, 1] (one per row), or an empty tensor (none; LibTorch 1.13's Function cannot
  // take undefined inputs).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x2, const at::Tensor& up, const at::Tensor& low,
                            int64_t bits) {
    const at::Tensor c_hi = clip_factors(up), c_lo = clip_factors(low);
    const int64_t stride = (c_hi.defined() && c_hi.numel() > 1) || (c_lo.defined() && c_lo.numel() > 1) ? 1 : 0;
    const fused::Clip clip = clip_of(c_hi, c_lo, stride);
    RowState s = empty_state(x2.size(0), x2.options());
    at::Tensor y = at::empty_like(x2);
    if (x2.is_cuda()) {
#ifdef PTQ_WITH_CUDA
      fused::rows_forward_cuda(x2.data_ptr(), y.data_ptr(), s.scale.data_ptr<float>(), s.zero.data_ptr<float>(),
                               s.clamped.data_ptr<uint8_t>(), s.argmin.data_ptr<int64_t>(), s.argmax.data_ptr<int64_t>(),
                               x2.size(0), x2.size(1), static_cast<int>(bits), clip, element_type(x2), current_stream(x2));
#else
      throw std::logic_error("fused fake-quant: built without CUDA");
#endif
    } else {
      forward_cpu(x2, y, s, bits, clip);
    }
    ctx->save_for_backward({x2, up, low});
    ctx->saved_data["scale"] = s.scale;
    ctx->saved_data["zero"] = s.zero;
    ctx->saved_data["clamped"] = s.clamped;
    ctx->saved_data["argmin"] = s.argmin;
    ctx->saved_data["argmax"] = s.argmax;
    ctx->saved_data["bits"] = bits;
    ctx->saved_data["stride"] = stride;
    if (c_hi.defined()) ctx->saved_data["c_hi"] = c_hi;
    if (c_lo.defined()) ctx->saved_data["c_lo"] = c_lo;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x2 = saved[0], &up = saved[1], &low = saved[2];
    const RowState s{ctx->saved_data["scale"].toTensor(), ctx->saved_data["zero"].toTensor(),
                     ctx->saved_data["clamped"].toTensor(), ctx->saved_data["argmin"].toTensor(),
                     ctx->saved_data["argmax"].toTensor()};
    const int64_t bits = ctx->saved_data["bits"].toInt(), stride = ctx->saved_data["stride"].toInt();
    const at::Tensor c_hi = ctx->saved_data.count("c_hi") ? ctx->saved_data["c_hi"].toTensor() : at::Tensor();
    const at::Tensor c_lo = ctx->saved_data.count("c_lo") ? ctx->saved_data["c_lo"].toTensor() : at::Tensor();
    const at::Tensor g = grads[0].to(x2.scalar_type()).contiguous();
    at::Tensor gx = at::empty_like(x2);
    at::Tensor hi_rows = at::empty({x2.size(0)}, x2.options().dtype(at::kFloat));
    at::Tensor lo_rows = at::empty({x2.size(0)}, x2.options().dtype(at::kFloat));
    const fused::Clip clip = clip_of(c_hi, c_lo, stride);
    if (x2.is_cuda()) {
#ifdef PTQ_WITH_CUDA
      fused::rows_backward_cuda(x2.data_ptr(), g.data_ptr(), gx.data_ptr(), s.scale.data_ptr<float>(), s.zero.data_ptr<float>(),
                                s.clamped.data_ptr<uint8_t>(), s.argmin.data_ptr<int64_t>(), s.argmax.data_ptr<int64_t>(),
                                hi_rows.data_ptr<float>(), lo_rows.data_ptr<float>(), x2.size(0), x2.size(1),
                                static_cast<int>(bits), clip, element_type(x2), current_stream(x2));
#endif
    } else {
      backward_cpu(x2, g, gx, s, hi_rows, lo_rows, bits, clip);
    }
    return {gx, logit_grad(hi_rows, c_hi, up), logit_grad(lo_rows, c_lo, low), at::Tensor()};
  }
};

bool fused_storage_supported(const at::Tensor& x) {
  if (x.is_cuda()) {
#ifdef PTQ_WITH_CUDA
    return x.scalar_type() == at::kFloat || x.scalar_type() == at::kHalf || x.scalar_type() == at::kBFloat16;
#else
    return false;
#endif
  }
  return x.device().is_cpu() && x.scalar_type() == at::kFloat;
}

bool fused_spec_supported(const QuantizerSpec& spec) {
  return spec.enabled() && !spec.symmetric && spec.range == RangeRule::kMinMax;
}

at::Tensor none_like(const at::Tensor& x) { return at::empty({0}, x.options().dtype(at::kFloat)); }

}  // namespace

bool fused_per_token_supported(const at::Tensor& x, const QuantizerSpec& spec) {
  if (!fused_spec_supported(spec) || x.dim() < 1 || x.numel() == 0 || x.size(-1) == 0) return false;
  return fused_storage_supported(x);
}

at::Tensor fused_fake_quant_per_token(const at::Tensor& x, const QuantizerSpec& spec, const at::Tensor& clip_logit) {
  if (!spec.enabled()) return x;
  if (!fused_per_token_supported(x, spec))
    throw std::invalid_argument("fused_fake_quant_per_token: needs an asymmetric min/max quantizer and fp32 (CPU) or "
                                "fp32/fp16/bf16 (CUDA) input");
  if (clip_logit.defined() && clip_logit.numel() != 1)
    throw std::invalid_argument("fused_fake_quant_per_token: clip_logit must be a scalar");
  const at::Tensor x2 = x.reshape({-1, x.size(-1)}).contiguous();
  const at::Tensor logit = clip_logit.defined() ? clip_logit.reshape({}) : none_like(x);
  return FusedRows::apply(x2, logit, logit, static_cast<int64_t>(spec.bits)).reshape(x.sizes());
}

bool fused_weight_supported(const at::Tensor& weight, const QuantizerSpec& spec) {
  if (!fused_spec_supported(spec) || weight.dim() != 2 || weight.numel() == 0) return false;
  if (spec.group_size > 0 && weight.size(1) % spec.group_size != 0) return false;
  return fused_storage_supported(weight);
}

at::Tensor fused_fake_quant_weight(const at::Tensor& weight, const QuantizerSpec& spec, const at::Tensor& lwc_up,
                                   const at::Tensor& lwc_low) {
  if (!spec.enabled()) return weight;
  if (!fused_weight_supported(weight, spec))
    throw std::invalid_argument("fused_fake_quant_weight: needs a 2-D weight, an asymmetric min/max quantizer whose group "
                                "divides in_features, and fp32 (CPU) or fp32/fp16/bf16 (CUDA) storage");
  const at::Tensor rows = spec.group_size > 0 ? weight.reshape({-1, spec.group_size}).contiguous() : weight.contiguous();
  for (const at::Tensor* l : {&lwc_up, &lwc_low})
    if (l->defined() && l->numel() != rows.size(0))
      throw std::invalid_argument("fused_fake_quant_weight: LWC logits must hold one value per quantization row");
  return FusedRows::apply(rows, lwc_up.defined() ? lwc_up : none_like(weight), lwc_low.defined() ? lwc_low : none_like(weight),
                          static_cast<int64_t>(spec.bits))
      .reshape(weight.sizes());
}

}  // namespace ptq::quant
