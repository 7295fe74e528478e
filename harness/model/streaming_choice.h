// Whether a run streams its model (model/block_storage.h): blocks read from the mmap'd checkpoint onto
// the device one at a time instead of all loaded up front. Results do not depend on it.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>

namespace ptq {

namespace io {
class TensorStore;
}

struct StreamingChoice {
  bool stream = false;
  std::string reason;  // one line for logs and provenance
};

// `setting`: "on", "off", or "auto" = stream when the weights would take more than half of the free
// memory (the rest is for activations, the learnable parameters and the block being trained).
// InputError for other values.
StreamingChoice decide_streaming(const std::string& setting, int64_t weight_bytes, int64_t free_bytes);
// The same for a checkpoint directory: its weights counted in `dtype` against the free memory of
// `device` (the host's available memory for the CPU).
StreamingChoice choose_streaming(const std::string& setting, const std::string& model_dir, c10::Device device,
                                 c10::ScalarType dtype);
// The same for an opened store: its tensors as readers see them (a derived tensor at its own size).
StreamingChoice choose_streaming(const std::string& setting, const io::TensorStore& store, c10::Device device,
                                 c10::ScalarType dtype);

}  // namespace ptq
