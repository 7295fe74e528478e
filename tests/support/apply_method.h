// Runs a registered method on a model in place through the pipeline (harness/pipeline/quantize.h), as the
// CLI and the cell runner do, without progress output.
#pragma once

#include "harness/model/llama_model.h"
#include "harness/ptq/method.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <string>

namespace ptq::test {

// `config`: overrides, resolved by the method; `calibration` may be undefined for methods without it;
// `work_dir` "" = no checkpoints; `activations`: MethodContext::activations.
quant::MethodReport apply_method(LlamaModel& model, const std::string& method, const std::string& setting,
                                 const nlohmann::json& config, const at::Tensor& calibration, const std::string& work_dir = "",
                                 const std::string& activations = "auto");

}  // namespace ptq::test
