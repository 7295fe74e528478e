// quantize(request) -> result: the one quantization path of `ptqbench quantize`, the cell runner and the
// tests. In order: resolve the method and its config (InputError before anything is loaded), sample the
// calibration windows the method needs, load the model (streamed or resident), apply the method.
#pragma once

#include "harness/data/calibration.h"
#include "harness/model/llama_model.h"
#include "harness/model/streaming_choice.h"
#include "harness/ptq/method.h"
#include "harness/ptq/quant_setting.h"
#include "harness/ptq/quantized_checkpoint.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace ptq {
class Tokenizer;
}

namespace ptq::pipeline {

// The method a request names, with its resolved config. "fp" = no method (the model as loaded).
struct ResolvedMethod {
  const quant::Method* method = nullptr;
  nlohmann::json config = nlohmann::json::object();  // canonical: every key present
  bool needs_calibration = false;
  std::string name() const { return method ? method->name() : "fp"; }
};
// InputError for an unknown method or a bad config key/value.
ResolvedMethod resolve_method(const std::string& name, const nlohmann::json& overrides);

// Whether the method quantizes this architecture (Method::check_model) and, when it calibrates, whether
// the model's attention takes calibration windows of `calibration_seqlen` tokens (a sliding window
// shorter than them is refused: LlamaConfig::check_sequence_length). InputError; nothing for "fp".
void check_model_support(const ResolvedMethod& method, const LlamaConfig& config, const quant::QuantSetting& setting,
                         int64_t calibration_seqlen);

// The reference codes' get_loaders(name, nsamples, seed, seqlen).
struct CalibrationRequest {
  std::string dataset = "wikitext2";
  std::string data;  // the train split's file or directory
  int64_t n = 128, seqlen = 2048, seed = 2;
};
// When the method needs calibration: InputError unless `request` names an existing train file (a cheap
// check, for callers that fail before anything is loaded; sample_calibration makes it too).
void check_calibration_data(const ResolvedMethod& method, const CalibrationRequest& request);
// The windows, when the method needs them (nullopt otherwise); InputError for missing data/tokenizer.
std::optional<eval::CalibrationSet> sample_calibration(const ResolvedMethod& method, const CalibrationRequest& request,
                                                       const Tokenizer* tokenizer, const eval::TokenCache& cache,
                                                       const std::string& model_dir);

// A checkpoint loaded for quantization or evaluation.
struct LoadedModel {
  LlamaModel model;
  StreamingChoice streaming;
  // Set for a checkpoint `ptqbench quantize` wrote: its activation quantizers are re-applied on load.
  std::optional<quant::QuantizationInfo> quantization;
};
// `stream`: "on" | "off" | "auto" (model/streaming_choice.h); blocks a method changes rest in
// `spill_dir` when streamed ("" = host memory).
LoadedModel load_model(const std::string& dir, c10::ScalarType dtype, c10::Device device, const std::string& stream,
                       const std::string& spill_dir);

struct QuantizeRequest {
  quant::QuantSetting setting;
  const at::Tensor* calibration = nullptr;  // [n, seqlen] token ids, when the method needs them
  bool progress = true;
  std::string work_dir;               // per-block checkpoints to resume from ("" = none)
  std::string activations = "auto";   // where reconstruction keeps activations (model/activation_home.h)
  std::string loss_log;               // per-step training losses as JSON lines (recon/loss_log.h; "" = none)
  std::string profile_trace;          // a Chrome trace of the first unit's training ("" = none)
};

struct Quantized {
  quant::MethodReport report;
  quant::EvalAdapter adapter;  // the method's evaluation-time adaptation (EvaluateOptions::adapter); empty: none
  double seconds = 0;
};

// Applies the method to `model` in place (nothing for "fp"); checks for a stop request and the method's
// support of the model's architecture (Method::check_model) first. Takes the
// method's evaluation-time adapter first, while the model is still the FP one.
Quantized quantize(LlamaModel& model, const ResolvedMethod& method, const QuantizeRequest& request);

}  // namespace ptq::pipeline
