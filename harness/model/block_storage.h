// Streaming (DESIGN §3, "Large models"): where the decoder blocks of a streamed model rest while they are
// not in use, so that only the block being worked on occupies the compute device (and host memory):
//   - the checkpoint: each tensor read from its mmap'd safetensors when the block is needed (the pages
//     are released after the copy, so a 70B checkpoint is never resident as a whole);
//   - once a method has changed a block: a spill file of its own, <spill_dir>/block_<i>.safetensors,
//     written atomically and read back the same way; or, without a spill directory, host memory.
// Copies of a streamed LlamaModel share one storage until one of them stores a block (copy on write).
#pragma once

#include "harness/model/llama_model.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <string>
#include <vector>

namespace ptq {
namespace io {
class TensorStore;
class SafetensorsFile;
}  // namespace io

class BlockStorage {
 public:
  // Blocks 0..num_blocks-1 rest in `checkpoint` under "model.layers.<i>.<suffix>". Each tensor read from
  // the checkpoint is checked finite as it is read (check_finite_weight) unless `allow_nonfinite`.
  BlockStorage(std::shared_ptr<const io::TensorStore> checkpoint, size_t num_blocks, std::string spill_dir,
               bool allow_nonfinite = false);

  // Block i on `device` in `dtype`, with every slot `config` asks for: optional slots the resting block
  // lacks (biases) are filled as LlamaModel::sync_bias_layout would (zeros).
  // = place(read_host(i, config), config, device, dtype).
  DecoderBlock load(size_t i, const LlamaConfig& config, c10::Device device, c10::ScalarType dtype) const;
  // The two halves of load(), so that the read (disk, page cache) can run ahead on another thread
  // (model/block_reader.h): block i as it rests, on the host in its stored dtype (InputError for a
  // missing weight); and that block moved to `device` / `dtype` with its missing optional slots filled.
  // read_host may run concurrently with store() of another block.
  DecoderBlock read_host(size_t i, const LlamaConfig& config) const;
  static DecoderBlock place(DecoderBlock host, const LlamaConfig& config, c10::Device device, c10::ScalarType dtype);
  // Block i rests as `block` from now on (spilled to disk when there is a spill directory).
  void store(size_t i, const DecoderBlock& block);
  // Whether resting block i holds a tensor named `suffix` (relative to "model.layers.<i>.").
  bool has(size_t i, const std::string& suffix) const;
  // Where block i rests now, for messages and tests: a file path, or "host memory".
  std::string where(size_t i) const;
  size_t size() const { return blocks_.size(); }
  const std::string& spill_dir() const { return spill_dir_; }

 private:
  struct Resting {
    std::shared_ptr<const io::SafetensorsFile> spill;  // set once stored with a spill directory
    std::shared_ptr<const DecoderBlock> host;          // set once stored without one
  };
  at::Tensor read(size_t i, const std::string& suffix) const;  // undefined when absent
  std::shared_ptr<const io::TensorStore> checkpoint_;
  std::vector<Resting> blocks_;
  std::string spill_dir_;
  bool allow_nonfinite_ = false;
};

}  // namespace ptq
