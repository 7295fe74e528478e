// Deployable output (issue #30): a quantized model in the GPTQ checkpoint format that AutoGPTQ, GPTQModel,
// transformers (optimum), vLLM and SGLang load - packed integers instead of de-quantized floats.
//
// Per quantized linear <L> (HF names), in model.safetensors:
//   <L>.qweight  int32 [in * bits / 32, out]   the integers, packed along the input dim (quant/gptq_packing.h)
//   <L>.qzeros   int32 [groups, out * bits / 32]  zero points packed along the output dim; stored as
//                zero - 1 in checkpoint_format "gptq" (AutoGPTQ's v1, what every loader reads) and as the
//                zero itself in "gptq_v2" (GPTQModel's). In "gptq" a group whose zero point is 0 (no code
//                for -1) is written exactly with its scale negated: W = (-s) * ((2^b - 1 - q) - (2^b - 1)).
//   <L>.scales   float16 [groups, out]
//   <L>.g_idx    int32 [in]    the group of each input column (act-order permutes it; always written, as
//                AutoGPTQ does, because loaders allocate it)
//   <L>.bias     float16 [out] where the model has one (LET's shifts folded into biases)
// and every other tensor in float16 (`dtype`). W = scales[g_idx] * (q - zero).
//
// config.json gets `quantization_config` (quant_method gptq, bits, group_size (-1 per channel), desc_act,
// sym, checkpoint_format, modules_to_not_convert, meta) and quantize_config.json the same keys (AutoGPTQ's
// file). What is not representable is refused with one line, before anything is written:
//   - activation or KV quantization (W4A4, W6A6, ...): the format holds weights only;
//   - 5, 6 or 7 bits: the format packs 2, 3, 4 or 8;
//   - a zero point outside [0, 2^bits - 1] (LWC can move it there), naming the linear;
//   - a weight that is not on its grid (a method whose result is not a plain uniform grid).
// A linear whose input or output width does not pack into whole 32-bit words stays in floating point -
// its method-quantized values, stored unpacked - and is listed in modules_to_not_convert.
#pragma once

#include "harness/ptq/method.h"
#include "harness/ptq/quant_setting.h"

#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptq {
class LlamaModel;
}

namespace ptq::quant {

struct GptqExportOptions {
  std::string checkpoint_format = "gptq";  // "gptq" (AutoGPTQ v1) | "gptq_v2" (GPTQModel)
  c10::ScalarType dtype = c10::ScalarType::Half;  // the tensors that are not packed (scales: always float16)
  // The dtype the fake-quantized weights were stored in: the tolerance of the grid check (linear_grid.h).
  c10::ScalarType source_dtype = c10::ScalarType::Float;
  bool overwrite = false;
  std::string out_option = "--out";  // the flag that named the output directory, for messages
};

// InputError unless `setting` is weight-only at 2, 3, 4 or 8 bits (`what` names the source in messages).
void check_gptq_exportable(const QuantSetting& setting, const std::string& what);
// The checkpoint_format option: "gptq" or "gptq_v2" (InputError otherwise).
void check_gptq_checkpoint_format(const std::string& value);

// What the export decided and measured; also written into quantization.json ("packing").
struct GptqExport {
  std::string checkpoint_format;
  bool sym = false, desc_act = false;
  std::vector<std::string> kept_float;  // linears stored unpacked, with the reason
  std::vector<std::string> notes;       // one line each: what was converted, what is not exported
  double max_scale_change = 0;          // largest relative change of a scale stored in float16
  int64_t groups_negated = 0;           // zero point 0 in checkpoint_format gptq: written with -scale
  int64_t linears_packed = 0;
  nlohmann::json to_json() const;
};

// Writes `model` (fake-quantized by a method at `setting`, resident or streamed) with its grid `qparams`
// (MethodReport::qparams or quant_params.safetensors) as a GPTQ checkpoint into `out_dir`, atomically
// (io::write_directory_atomic), with `quantization_doc` + "format": "gptq" + "packing" as
// quantization.json and the tokenizer files of `source_model_dir`.
GptqExport write_gptq_checkpoint(LlamaModel& model, const std::vector<std::pair<std::string, at::Tensor>>& qparams,
                                 const QuantSetting& setting, const nlohmann::json& quantization_doc,
                                 const std::string& source_model_dir, const std::string& out_dir,
                                 const GptqExportOptions& options);

// Fake-quant with float16 scales (`quantize --fp16-scales`): every quantized linear's weight becomes
// float16(scale) * (q - zero) on its own integers, and its reported scales the float16 values, so that a
// GPTQ export of the result de-quantizes to bit-identical weights.
void round_scales_to_fp16(LlamaModel& model, std::vector<std::pair<std::string, at::Tensor>>& qparams,
                          const QuantSetting& setting);

}  // namespace ptq::quant
