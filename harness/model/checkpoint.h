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
// The block linears of expected_tensors, in its order: "model.layers.<i>.self_attn.q_proj" -> {out, in}.
std::vector<std::pair<std::string, std::vector<int64_t>>> linear_shapes(const LlamaConfig& config);

// <dir>/config.json; InputError when `dir` is no directory or has no config.json.
std::string model_config_path(const std::string& dir);

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

// Whether weights holding NaN or Inf are loaded (research use; `--allow-nonfinite`). The CLI sets this
// once per process from its runtime options; LoadOptions takes it as its default.
void set_nonfinite_weights_allowed(bool allowed);
bool nonfinite_weights_allowed();

struct LoadOptions {
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
  // Streaming (model/block_storage.h): only the embedding, final norm and lm_head are loaded; each block
  // is read from the mmap'd checkpoint onto `device` when used, and blocks a method changed rest in
  // `spill_dir` (host memory when empty).
  bool stream = false;
  std::string spill_dir;
  // Refuse a weight holding NaN/Inf as it is read (streamed blocks when they are read), naming the tensor.
  bool allow_nonfinite = nonfinite_weights_allowed();
};

// Strictness beyond names and shapes (issue #29), from headers only: every tensor of the architecture
// (norms, embeddings, lm_head, linear weights and biases) must be floating point; an I16 norm weight
// is an InputError naming the file, the tensor, its dtype and its role.
void check_checkpoint_dtypes(const io::TensorStore& store, const LlamaConfig& config);
// tie_word_embeddings with an lm_head.weight stored as well: accepted only when the two tensors are
// bit-identical (InputError naming both otherwise). Reads both tensors only in that rare case.
void check_tied_head(const io::TensorStore& store, const LlamaConfig& config, const std::string& config_path);
// InputError "<file>: tensor '<name>' has N non-finite values (first: nan at [i, j]) ..." when a floating
// tensor holds NaN or Inf. One reduction over a tensor that was just read; the exact count only on failure.
void check_finite_weight(const at::Tensor& t, const std::string& name, const std::string& file);
// The safetensors file of `store` that holds `name` (for messages).
std::string file_holding(const io::TensorStore& store, const std::string& name);

class Tokenizer;
// A tokenizer whose ids reach past the model's vocab_size (embedding rows) would index past the embedding:
// InputError naming the tokenizer file, its largest id and vocab_size from `config_path`.
void check_tokenizer_fits(const Tokenizer& tokenizer, const LlamaConfig& config, const std::string& config_path);

// Reads config.json, checks every tensor by name, shape and dtype (InputError listing missing / unexpected /
// mis-shaped names), the tied head, and loads the weights converted to `options`, each checked finite.
LlamaModel load_llama(const std::string& dir, const LoadOptions& options = {});
// The same from a store the caller opened on `dir`, with any derived tensors it was given (a packed GPTQ
// checkpoint's dequantized weights: ptq/gptq_checkpoint.h open_model_store). Streamed blocks read from it.
LlamaModel load_llama(const std::string& dir, io::TensorStore store, const LoadOptions& options = {});

// Writes config.json and model.safetensors (tensors stored in `storage_dtype`) into `dir`. A streamed
// model is written one block at a time, never whole in memory.
void save_llama(LlamaModel& model, const std::string& dir, at::ScalarType storage_dtype,
                const std::map<std::string, std::string>& metadata = {});

}  // namespace ptq
