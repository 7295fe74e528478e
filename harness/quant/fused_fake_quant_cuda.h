// Launchers of the fused per-token fake-quant kernels (fused_fake_quant.cu). Raw pointers only, so that
// the .cu file needs no LibTorch header; `stream` is a cudaStream_t. Compiled only with CUDA.
#pragma once

#include "harness/quant/fused_fake_quant_math.h"

#include <cstdint>

namespace ptq::quant::fused {

enum class ElementType { kFloat, kHalf, kBFloat16 };

// Per row of x [rows, n]: y, and the saved row state (scale, zero, scale-clamped flag, argmin, argmax).
void rows_forward_cuda(const void* x, void* y, float* scale, float* zero, uint8_t* clamped, int64_t* argmin,
                       int64_t* argmax, int64_t rows, int64_t n, int bits, Clip clip, ElementType type, void* stream);

// dL/dx from dL/dy, and per row dL/dhi * max and dL/dlo * min, the clipping logits' gradients before the
// sigmoid's derivative (null: not needed).
void rows_backward_cuda(const void* x, const void* grad_y, void* grad_x, const float* scale, const float* zero,
                        const uint8_t* clamped, const int64_t* argmin, const int64_t* argmax, float* hi_grad_rows,
                        float* lo_grad_rows, int64_t rows, int64_t n, int bits, Clip clip, ElementType type, void* stream);

}  // namespace ptq::quant::fused
