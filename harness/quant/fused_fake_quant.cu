// CUDA kernels of the fused fake-quantizers (fused_fake_quant.h): one thread block per row (a token, a
// weight row or a weight group). Forward: a block-wide min/max (with the first index on ties) in one read of the row, then the
// quantize-dequantize of each element in a second, cached read. Backward: one read of x and dL/dy for
// the row's scale-gradient sum and the direct gradients, then the two range elements' corrections.
// Arithmetic in float from fp32/fp16/bf16 storage, in the expressions of fused_fake_quant_math.h.
#include "harness/quant/fused_fake_quant_cuda.h"
#include "harness/quant/fused_fake_quant_math.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace ptq::quant::fused {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ float load(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }
__device__ __forceinline__ void store(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

// (value, index) pairs: the smaller value wins, ties go to the smaller index (deterministic, = CPU).
struct ArgMin {
  float v;
  int64_t i;
};
__device__ __forceinline__ ArgMin better_min(ArgMin a, ArgMin b) { return (b.v < a.v || (b.v == a.v && b.i < a.i)) ? b : a; }
__device__ __forceinline__ ArgMin better_max(ArgMin a, ArgMin b) { return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a; }

template <typename T>
__global__ void forward_kernel(const T* __restrict__ x, T* __restrict__ y, float* scale, float* zero, uint8_t* clamped,
                               int64_t* argmin, int64_t* argmax, int64_t n, float qmax, Clip clip) {
  const int64_t r = blockIdx.x;
  const T* row = x + r * n;
  ArgMin mn{INFINITY, n}, mx{-INFINITY, n};
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = load(row, i);
    mn = better_min(mn, {v, i});
    mx = better_max(mx, {v, i});
  }
  for (int off = 16; off > 0; off >>= 1) {
    mn = better_min(mn, {__shfl_down_sync(0xffffffffu, mn.v, off), __shfl_down_sync(0xffffffffu, mn.i, off)});
    mx = better_max(mx, {__shfl_down_sync(0xffffffffu, mx.v, off), __shfl_down_sync(0xffffffffu, mx.i, off)});
  }
  __shared__ ArgMin smin[kThreads / 32], smax[kThreads / 32];
  __shared__ RowParams params;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    smin[warp] = mn;
    smax[warp] = mx;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) {
      mn = better_min(mn, smin[w]);
      mx = better_max(mx, smax[w]);
    }
    params = row_params(mn.v, mx.v, clip.hi_of(r), clip.lo_of(r), qmax);
    scale[r] = params.scale;
    zero[r] = params.zero;
    clamped[r] = params.scale_clamped ? 1 : 0;
    argmin[r] = mn.i;
    argmax[r] = mx.i;
  }
  __syncthreads();
  const RowParams p = params;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    bool inside;
    store(y + r * n, i, dequantized(grid_value(load(row, i), p, qmax, &inside), p));
  }
}

template <typename T>
__global__ void backward_kernel(const T* __restrict__ x, const T* __restrict__ gy, T* __restrict__ gx, const float* scale,
                                const float* zero, const uint8_t* clamped, const int64_t* argmin, const int64_t* argmax,
                                float* hi_grad_rows, float* lo_grad_rows, int64_t n, float qmax, Clip clip) {
  const int64_t r = blockIdx.x;
  const RowParams p{scale[r], zero[r], clamped[r] != 0};
  const T *row = x + r * n, *grow = gy + r * n;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    bool inside;
    const float v = load(row, i), g = load(grow, i);
    const float grid = grid_value(v, p, qmax, &inside);
    sum += scale_grad_term(v, g, grid, inside, p);
    store(gx + r * n, i, direct_x_grad(g, inside, p));
  }
  for (int off = 16; off > 0; off >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, off);
  __shared__ float partial[kThreads / 32];
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = sum;
  __syncthreads();  // also orders every thread's direct gradients before the corrections below
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w) sum += partial[w];
    const float c_hi = clip.hi_of(r), c_lo = clip.lo_of(r);
    const float gq = p.scale_clamped ? 0.0f : sum / qmax;
    const int64_t imin = argmin[r], imax = argmax[r];
    // Read back what the loop stored (in T), add in float, store once: imin may equal imax.
    const float direct_max = load(gx + r * n, imax);
    store(gx + r * n, imax, direct_max + c_hi * gq);
    const float direct_min = load(gx + r * n, imin);
    store(gx + r * n, imin, direct_min - c_lo * gq);
    if (hi_grad_rows) hi_grad_rows[r] = gq * load(row, imax);
    if (lo_grad_rows) lo_grad_rows[r] = -gq * load(row, imin);
  }
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

float qmax_of(int bits) { return static_cast<float>((1LL << bits) - 1); }

// Calls f with a value of the storage type (float, __half or __nv_bfloat16): one launch site per kernel.
template <typename F>
void with_element_type(ElementType type, F&& f) {
  switch (type) {
    case ElementType::kFloat: f(float{}); break;
    case ElementType::kHalf: f(__half{}); break;
    case ElementType::kBFloat16: f(__nv_bfloat16{}); break;
  }
}

}  // namespace

void rows_forward_cuda(const void* x, void* y, float* scale, float* zero, uint8_t* clamped, int64_t* argmin,
                       int64_t* argmax, int64_t rows, int64_t n, int bits, Clip clip, ElementType type, void* stream) {
  if (rows == 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  with_element_type(type, [&](auto element) {
    using T = decltype(element);
    forward_kernel<<<rows, kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<T*>(y), scale, zero, clamped, argmin,
                                             argmax, n, qmax_of(bits), clip);
  });
  check(cudaGetLastError(), "fused fake-quant forward");
}

void rows_backward_cuda(const void* x, const void* grad_y, void* grad_x, const float* scale, const float* zero,
                        const uint8_t* clamped, const int64_t* argmin, const int64_t* argmax, float* hi_grad_rows,
                        float* lo_grad_rows, int64_t rows, int64_t n, int bits, Clip clip, ElementType type, void* stream) {
  if (rows == 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  with_element_type(type, [&](auto element) {
    using T = decltype(element);
    backward_kernel<<<rows, kThreads, 0, s>>>(static_cast<const T*>(x), static_cast<const T*>(grad_y),
                                              static_cast<T*>(grad_x), scale, zero, clamped, argmin, argmax, hi_grad_rows,
                                              lo_grad_rows, n, qmax_of(bits), clip);
  });
  check(cudaGetLastError(), "fused fake-quant backward");
}

}  // namespace ptq::quant::fused
