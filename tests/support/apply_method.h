// Runs a registered method on a model in place, as the CLI would, without progress output.
#pragma once

#include "model/llama_model.h"
#include "quant/method.h"

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
