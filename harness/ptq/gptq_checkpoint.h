// Loading packed GPTQ checkpoints: the AutoGPTQ / GPTQModel layout that transformers, vLLM and SGLang read,
// and that `ptqbench quantize --format gptq` / `ptqbench pack` write. config.json holds a
// `quantization_config` with quant_method "gptq"; every quantized linear <L> is stored as
//   <L>.qweight  int32 [in * bits / 32, out]   the integers q of the [out, in] weight, packed along in
//   <L>.qzeros   int32 [groups, out * bits / 32] the zero points, packed along out
//   <L>.scales   float16 [groups, out]          (F32 and BF16 accepted)
//   <L>.g_idx    int32 [in]                     the group of each input column
// (bit layout: quant/gptq_packing.h) instead of <L>.weight; linears listed in modules_to_not_convert keep
// a plain `.weight`. ptqbench evaluates such a checkpoint de-quantized: open_model_store gives the store
// each packed linear's `<L>.weight` (float32, [out, in]) as a derived tensor (io/tensor_store.h), so that
// load_llama, streamed blocks, `eval`, `info` and the cells all see an ordinary checkpoint:
//   W[o, i] = scales[g_idx[i], o] * (q[o, i] - zero[g_idx[i], o])
// zero = stored + 1 for checkpoint_format "gptq" (AutoGPTQ's v1 offset), = stored for "gptq_v2". q - zero is
// a small integer and the scales float16, so every product is exact in float32.
#pragma once

#include "harness/io/tensor_store.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ptq {
struct LlamaConfig;
}

namespace ptq::quant::gptq {

struct CheckpointConfig {
  int bits = 4;
  int64_t group_size = -1;      // -1: one group per output channel
  std::string format = "gptq";  // checkpoint_format: "gptq" (stored zero = zero - 1) or "gptq_v2"
  bool sym = true;
  bool desc_act = false;        // act-order: g_idx may be any grouping; otherwise it must be i / group_size
  std::vector<std::string> modules_to_not_convert;  // linears kept as a floating-point `.weight`
  int64_t groups(int64_t in_features) const { return group_size > 0 ? in_features / group_size : 1; }
  int zero_offset() const { return format == "gptq" ? 1 : 0; }  // zero = stored + zero_offset()
  bool keeps_float(const std::string& linear) const;
  nlohmann::json to_json() const;
};

// config.json's quantization_config: nullopt when there is none. InputError naming `config_path`, the key,
// its value and what is expected: another quant_method (awq, fp8, ...), bits other than 2/3/4/8, a group
// size other than -1 or > 0, an unknown checkpoint_format, a non-boolean sym/desc_act, a
// modules_to_not_convert entry that is not a string.
std::optional<CheckpointConfig> read_checkpoint_config(const std::string& config_path);
CheckpointConfig parse_checkpoint_config(const nlohmann::json& quantization_config, const std::string& config_path);

// From the headers, before any tensor is read: every linear of `config` is either listed in
// modules_to_not_convert (and stored as `.weight` only) or packed, with qweight/qzeros/g_idx I32 and scales
// F16/F32/BF16 shaped as above, in and out widths that pack at the bits and a group size dividing in.
// Then adds each packed linear's `<L>.weight` (F32) to `store`, its four tensors hidden. Reading one checks
// the values: g_idx within [0, groups) (and equal to i / group_size unless desc_act), scales finite and > 0.
// InputError, one line naming the file, the tensor, the value and the expectation.
void add_dequantized_weights(io::TensorStore& store, const CheckpointConfig& q, const LlamaConfig& config,
                             const std::string& config_path);

// The store every loading path reads: the checkpoint in `dir`, with its packed linears de-quantized when its
// config.json has a GPTQ quantization_config (refused: another quant_method), plain otherwise.
io::TensorStore open_model_store(const std::string& dir);

// The bytes a packed checkpoint takes, for `ptqbench info` (from the headers).
struct PackedBytes {
  uint64_t file_bytes = 0;       // the safetensors files, headers included
  uint64_t quantized_bytes = 0;  // the packed linears' qweight + qzeros + scales + g_idx
  uint64_t fp16_bytes = 0;       // those linears' weights in float16: sum of out * in * 2
  int64_t weights = 0;           // sum of out * in over the packed linears
  int64_t linears_packed = 0, linears_kept = 0;
  double percent_of_fp16() const { return fp16_bytes ? 100.0 * double(quantized_bytes) / double(fp16_bytes) : 0; }
  double bits_per_weight() const { return weights ? 8.0 * double(quantized_bytes) / double(weights) : 0; }
  nlohmann::json to_json() const;
};
PackedBytes packed_bytes(const io::TensorStore& store, const CheckpointConfig& q, const LlamaConfig& config);

}  // namespace ptq::quant::gptq
