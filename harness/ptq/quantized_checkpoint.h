// Quantized checkpoints as `ptqbench quantize` writes them: a normal HF directory whose weights are the
// de-quantized (fake-quantized) values, plus
//   quant_params.safetensors  scales and zero points of every quantized linear ("<name>.weight_scale/zero")
//   quantization.json         setting, method, resolved config, calibration spec, provenance
// Loading one for evaluation re-applies the activation quantization the setting asks for.
#pragma once

#include "harness/ptq/method.h"
#include "harness/ptq/quant_setting.h"

#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace ptq {
class LlamaModel;
struct LlamaConfig;
}

namespace ptq::quant {

inline constexpr const char* kQuantizationFile = "quantization.json";
inline constexpr const char* kQParamsFile = "quant_params.safetensors";
inline constexpr int kQuantizationFormat = 1;

struct QuantizationInfo {
  QuantSetting setting;
  std::string method;
  nlohmann::json document;  // the whole quantization.json
};

// The contents of <dir>/quantization.json, or nothing for a full-precision checkpoint.
std::optional<QuantizationInfo> read_quantization_info(const std::string& dir);
// The activation quantization of a quantized checkpoint in `dir` that `model` was loaded from (its weights
// are already de-quantized): the setting's quantizers, with the learned clipping the checkpoint holds
// (config.act_clip: "model.layers.<i>.ptqbench_act_clip"). Validates quant_params.safetensors first.
void apply_checkpoint_activation_quant(LlamaModel& model, const QuantSetting& setting, const std::string& dir);

// Validates <dir>/quant_params.safetensors against the model it sits beside (issue #29): every entry is
// "<linear>.weight_scale" or "<linear>.weight_zero" of an existing linear, in pairs, floating point, shaped
// [out_features, in_features / group] ([out_features, 1] per channel) for the setting's group size; scales
// finite and > 0, zero points finite, integer-valued and within the quantizer's bound. Also accepted:
// "<linear>.weight_g_idx" (GPTQ act_order with groups: [in_features] integers in [0, groups)) and
// "model.layers.<i>.ptqbench_act_clip" (CBQ's learned clipping: the shape expected_tensors gives it).
// InputError naming the file and the tensor. Returns the number of tensors validated, 0 when there is no
// such file.
size_t validate_quant_params(const std::string& dir, const LlamaConfig& config, const QuantSetting& setting);

// Copies the tokenizer files of `source_model_dir` (Tokenizer::files_in) into `dir`, writable.
void copy_tokenizer_files(const std::string& source_model_dir, const std::string& dir);

// Writes model + quant params + quantization.json into out_dir, atomically as a whole: everything goes
// into a sibling temporary directory that is renamed into place at the end. An existing out_dir is an
// InputError unless `overwrite`. The tokenizer files of `source_model_dir` (Tokenizer::files_in) are copied.
void write_quantized_checkpoint(LlamaModel& model, const std::string& out_dir, c10::ScalarType storage_dtype,
                                const nlohmann::json& quantization_doc, const MethodReport& report,
                                const std::string& source_model_dir, bool overwrite);

}  // namespace ptq::quant
