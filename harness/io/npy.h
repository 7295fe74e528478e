// NumPy .npy files of token ids: the exchange format for pre-tokenized evaluation streams
// (`np.asarray(ids, np.int32).tofile` is not self-describing; `np.save` is) and for our token cache.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace ptq::io {

// Reads a 1-D (or 1 x N) little-endian integer array (<i2 <i4 <i8 <u2 <u4 |u1 |i1) as int64.
at::Tensor read_npy_ids(const std::string& path);
// Writes a 1-D integer tensor as '<i4' (token ids fit in int32) atomically.
void write_npy_ids(const std::string& path, const at::Tensor& ids);

}  // namespace ptq::io
