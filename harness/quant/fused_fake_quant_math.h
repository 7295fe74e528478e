// The arithmetic of the fused per-token fake-quantizer, shared word for word by the CPU loops
// (fused_fake_quant.cpp) and the CUDA kernels (fused_fake_quant.cu), so that the CPU tests check the
// very expressions the GPU runs. Plain C++ (no LibTorch): nvcc compiles it without LibTorch's headers.
//
// Forward, per row x[0..n) (a token, a weight row or a weight group) with b bits (q = 2^b - 1),
// asymmetric min/max, optional clipping factors c_hi = sigmoid(up), c_lo = sigmoid(low) (OmniQuant's LWC
// per row; CBQ's learnable activation step: one logit for both ends of every token; 1 without them), in
// the composed ops' order of operations (uniform_quantizer.cpp), so that the forward is bit-identical:
//   hi = c_hi * max(x), lo = c_lo * min(x)
//   s  = clamp((hi - lo) / q, 1e-5, 1e4);  z = round(clamp(-lo / s, -1e4, 1e4))
//   t  = x / s;  r = (round(t) - t) + t    (straight-through rounding, as (round(t) - t).detach() + t)
//   y  = (clamp(r + z, 0, q) - z) * s
// Backward, from g = dL/dy (z carries no gradient; round is straight-through; clamp passes the gradient
// where its input lies in [0, q]):
//   dL/dx_i  = ((g_i * s) * in_i) / s + [i = argmax] * c_hi * G / q - [i = argmin] * c_lo * G / q
//   G        = d(s)/d(raw) * sum_i ( g_i * (clamp(r_i + z) - z) - (g_i * s) * in_i * x_i / s^2 )
//   dL/dup   = (G / q) * max * c_hi * (1 - c_hi),   dL/dlow = -(G / q) * min * c_lo * (1 - c_lo)
//   (summed over rows where one logit serves them all)
// (d(s)/d(raw) = 1 inside the scale clamp, 0 where it clamps).
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define PTQ_HD __host__ __device__ __forceinline__
#else
#define PTQ_HD inline
#endif

namespace ptq::quant::fused {

constexpr float kScaleMin = 1e-5f, kScaleMax = 1e4f, kZeroBound = 1e4f;

struct RowParams {
  float scale, zero;
  bool scale_clamped;  // the scale hit a clamp bound: no gradient flows to the range
};

// The clipping factors of the rows (sigmoid already applied): null = 1, else hi[r * stride] for row r
// (stride 0: one factor for every row, 1: one per row). Host or device memory, as the loops run.
struct Clip {
  const float* hi = nullptr;
  const float* lo = nullptr;
  int64_t stride = 0;
  PTQ_HD float hi_of(int64_t r) const { return hi ? hi[r * stride] : 1.0f; }
  PTQ_HD float lo_of(int64_t r) const { return lo ? lo[r * stride] : 1.0f; }
};

PTQ_HD float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// rint: round half to even, as torch.round.
PTQ_HD RowParams row_params(float xmin, float xmax, float clip_hi, float clip_lo, float qmax) {
  const float hi = clip_hi * xmax, lo = clip_lo * xmin;
  const float raw = (hi - lo) / qmax;
  RowParams p;
  p.scale = clampf(raw, kScaleMin, kScaleMax);
  p.scale_clamped = !(raw >= kScaleMin && raw <= kScaleMax);
  p.zero = rintf(clampf(-lo / p.scale, -kZeroBound, kZeroBound));
  return p;
}

// The integer-grid value clamp(r + z, 0, q) and whether the clamp let it through.
PTQ_HD float grid_value(float x, const RowParams& p, float qmax, bool* inside) {
  const float t = x / p.scale;
  const float r = (rintf(t) - t) + t;
  const float v = r + p.zero;
  *inside = v >= 0.0f && v <= qmax;
  return clampf(v, 0.0f, qmax);
}

PTQ_HD float dequantized(float grid, const RowParams& p) { return (grid - p.zero) * p.scale; }

// One element's share of dL/ds (before the scale clamp), and its direct gradient dL/dx.
PTQ_HD float scale_grad_term(float x, float g, float grid, bool inside, const RowParams& p) {
  const float gs = inside ? g * p.scale : 0.0f;  // gradient reaching r (and t): g * s where unclamped
  return g * (grid - p.zero) - gs * x / (p.scale * p.scale);
}

PTQ_HD float direct_x_grad(float g, bool inside, const RowParams& p) { return inside ? (g * p.scale) / p.scale : 0.0f; }

}  // namespace ptq::quant::fused
