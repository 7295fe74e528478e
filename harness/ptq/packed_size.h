// The size on disk of a quantized model as the GPTQ-packed export writes it (issue #30), computed from
// its architecture and setting alone, without the weights: what results, quantization.json and report
// tables show as "bits per weight".
//
// Per quantized linear [out, in] with G groups (in / group_size, 1 per channel) at b bits:
//   qweight in*b/32 x out int32, qzeros G x out*b/32 int32, scales G x out float16, g_idx in int32
// and a float16 bias [out] when the model has one. A linear whose in width (qweight) or out width (qzeros)
// does not fill whole 32-bit words at b bits (quant/gptq_packing.h packs_evenly) is kept in float16, as
// the exporter keeps it ("modules_to_not_convert"). Every other tensor (embeddings, norms, lm_head) is
// float16. Bytes are those of the tensors: the safetensors header and the JSON files are not counted.
//
// Settings without a packed layout (5, 6, 7 bits) get the theoretical size instead, b*in*out/8 bytes of
// integers plus G*out*(2 + b/8) bytes of float16 scales and b-bit zero points per linear (no g_idx),
// with `packable` false; W16 settings quantize no linear (bits per weight 16).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ptq {
struct LlamaConfig;
}

namespace ptq::quant {

struct QuantSetting;

struct PackedSize {
  int64_t total_bytes = 0;           // every tensor of the checkpoint
  int64_t fp16_total_bytes = 0;      // the same model with every tensor in float16
  int64_t quantized_bytes = 0;       // the quantized linears' qweight + qzeros + scales + g_idx (no biases)
  int64_t quantized_fp16_bytes = 0;  // those linears' weights in float16 (out * in * 2)
  int64_t quantized_weights = 0;     // their weights (sum of out * in)
  int64_t linear_weights = 0;        // every block linear's weights, quantized or not
  // 8 * quantized_bytes / quantized_weights: the quantized linears' bits per weight, scales, zero points
  // and g_idx included (16 when none is quantized).
  double bits_per_weight = 16;
  // Over every block linear's weights: the float16 ones count 16 bits each.
  double effective_bits_per_weight = 16;
  // Full names of the linears kept in float16 ("model.layers.0.mlp.down_proj"), in checkpoint order.
  std::vector<std::string> float_linears;
  bool packable = false;  // the setting's bits have a GPTQ packed layout (2, 3, 4, 8)
  bool quantized = false; // the setting quantizes weights (wbits < 16)
  std::string note;       // why the size is theoretical, or which widths did not pack; "" otherwise

  // {"bits_per_weight", "effective_bits_per_weight", "packed_bytes", "fp16_bytes", "quantized_linear_bytes",
  //  "quantized_linear_fp16_bytes", "packable", "size_kind" ("gptq_packed" | "theoretical" | "float16"),
  //  "float_linears", "note"}: the "size" object of results and quantization.json.
  nlohmann::json to_json() const;
};

// InputError (from QuantSetting::validate_for) when the group size does not divide a linear's input width.
PackedSize packed_size(const LlamaConfig& config, const QuantSetting& setting);

// packed_size(config, setting).to_json(): the "size" object `ptqbench quantize` writes into quantization.json.
nlohmann::json packed_size_json(const LlamaConfig& config, const QuantSetting& setting);

}  // namespace ptq::quant
