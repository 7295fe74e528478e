// Hugging Face Llama checkpoint directories: config.json + safetensors (single or sharded).
#pragma once

#include "harness/io/tensor_store.h"
#include "harness/model/llama_model.h"

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <map>
#include <string>
#include <vector>

namespace ptq {

// Every tensor a checkpoint of this architecture must hold, with its shape, by HF name.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const LlamaConfig& config);

// How a checkpoint's tensors compare with what its config requires (read from headers only).
struct CheckpointCheck {
  std::vector<std::string> missing;     // required by the config, absent
  std::vector<std::string> unexpected;  // present, not used by the architecture
  std::vector<std::string> misshaped;   // "name: [a, b] in file, expected [c, d]"
  std::vector<std::string> ignored;     // present, harmless, skipped (e.g. rotary_emb.inv_freq buffers)
  bool ok() const { return missing.empty() && unexpected.empty() && misshaped.empty(); }
  std::string describe(const std::string& dir) const;  // one line naming the first problems
};
CheckpointCheck check_checkpoint(const io::TensorStore& store, const LlamaConfig& config);

struct LoadOptions {
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
  // Streaming (model/block_storage.h): only the embedding, final norm and lm_head are loaded; each block
  // is read from the mmap'd checkpoint onto `device` when used, and blocks a method changed rest in
  // `spill_dir` (host memory when empty).
  bool stream = false;
  std::string spill_dir;
};

// Reads config.json, checks every tensor by name and shape (InputError listing missing / unexpected /
// mis-shaped names), and loads the weights converted to `options`.
LlamaModel load_llama(const std::string& dir, const LoadOptions& options = {});

// Writes config.json and model.safetensors (tensors stored in `storage_dtype`) into `dir`. A streamed
// model is written one block at a time, never whole in memory.
void save_llama(LlamaModel& model, const std::string& dir, at::ScalarType storage_dtype,
                const std::map<std::string, std::string>& metadata = {});

}  // namespace ptq
