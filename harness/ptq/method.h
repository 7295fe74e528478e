// The interface every PTQ method implements, and the registry that lists them (methods/register_all.cpp
// registers each one explicitly; no static-initialisation tricks).
#pragma once

#include "harness/ptq/quant_setting.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ptq {
class LlamaModel;
struct LlamaConfig;
}

namespace ptq::quant {

struct MethodContext {
  const at::Tensor* calibration = nullptr;  // [n, seqlen] token ids, for methods that need them
  bool progress = true;
  std::string work_dir;  // where a method may keep checkpoints to resume from ("" = none)
  // Where block reconstruction keeps calibration activations: "auto", "device" or "host"
  // (model/activation_home.h; a runtime choice, not part of results).
  std::string activations = "auto";
  // Training methods append one JSON line per optimiser step to this file (recon/loss_log.h; "" = none).
  std::string loss_log;
  // Training methods write a Chrome trace of the first block's training steps here ("" = none).
  std::string profile_trace;
};

// What an evaluation-time adaptation (LRQuant's test-time adaptation) is told about the data to come.
struct EvalAdaptationRequest {
  std::string task;                         // the perplexity task ("wikitext2", "c4", ...)
  std::string calibration_dataset;          // the dataset the method calibrated on ("" = none)
  const at::Tensor* segments = nullptr;     // [n, seqlen] token ids: exactly the windows to be scored
  bool progress = true;
};
// Returns the model to score the segments with - a copy: the quantized model, and anything the method
// wrote to disk, stay as they are - or nullptr to score the quantized model as is. `details` receives
// what was done (stored with the task's results).
using EvalAdapter = std::function<std::shared_ptr<LlamaModel>(const LlamaModel& quantized, const EvalAdaptationRequest& request,
                                                              nlohmann::json& details)>;

struct MethodReport {
  nlohmann::json summary = nlohmann::json::object();  // method-specific facts, stored with results
  // Per quantized linear: "<hf name>.weight_scale" and "<hf name>.weight_zero" ([out, in / group]).
  std::vector<std::pair<std::string, at::Tensor>> qparams;
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // The method as paper tables name it ("OmniQuant"): the row label of reports and the key that matches
  // the papers' reported numbers (experiments/papers/*.json "method"). Default: name(). An experiment
  // entry's "paper_method" overrides it.
  virtual std::string paper_name() const { return name(); }
  // The full default configuration; each default is documented with its source in the method's config.
  virtual nlohmann::json default_config() const = 0;
  // Defaults overlaid with `overrides` and validated: InputError naming an unknown key or a bad value.
  // The result is canonical (all keys present) and goes into run ids.
  virtual nlohmann::json resolve_config(const nlohmann::json& overrides) const = 0;
  // Each config key's default, the source of that default and its allowed values
  // ({"<key>": {"default", "source", "allowed"}}; harness/ptq/config_schema.h); {} when undeclared.
  virtual nlohmann::json config_fields() const { return nlohmann::json::object(); }
  virtual bool needs_calibration(const nlohmann::json& config) const = 0;
  // Which architecture variants (LlamaConfig::model_type) the method quantizes, and how: one line, shown
  // by `ptqbench ls methods`.
  virtual std::string model_support() const = 0;
  // InputError, one line naming the method and the model_type, when the method cannot quantize a model
  // of this architecture with this (resolved) config and setting. pipeline::quantize calls it before the
  // method runs; the CLI and the cell runner before the model is loaded (pipeline::check_model_support).
  virtual void check_model(const LlamaConfig& model, const QuantSetting& setting, const nlohmann::json& config) const = 0;
  // Quantizes the model in place: weights fake-quantized once (stored de-quantized), activation
  // quantization switched on in the blocks' activation hooks (apply_activation_quant).
  virtual MethodReport apply(LlamaModel& model, const QuantSetting& setting, const nlohmann::json& config,
                             MethodContext& ctx) const = 0;
  // Evaluation-time adaptation (LRQuant's test-time adaptation): a step of the evaluation pipeline
  // (pipeline/evaluate.h), run before each perplexity task is scored. The pipeline asks for it with the
  // FP model before apply(), so that the adapter keeps what it needs of it. Empty (the default): none.
  virtual EvalAdapter evaluation_adapter(const LlamaModel& fp_model, const QuantSetting& setting,
                                         const nlohmann::json& config) const {
    return {};
  }
};

class MethodRegistry {
 public:
  void add(std::unique_ptr<Method> method);                // a duplicate name is a programming error
  const Method& get(const std::string& name) const;        // InputError listing the available names
  std::vector<std::string> names() const;                  // sorted
 private:
  std::map<std::string, std::unique_ptr<Method>> methods_;
};

}  // namespace ptq::quant
