#include "tests/support/apply_method.h"

#include "harness/pipeline/quantize.h"

namespace ptq::test {

quant::MethodReport apply_method(LlamaModel& model, const std::string& method, const std::string& setting,
                                 const nlohmann::json& config, const at::Tensor& calibration, const std::string& work_dir,
                                 const std::string& activations) {
  pipeline::QuantizeRequest request;
  request.setting = quant::QuantSetting::parse(setting);
  request.calibration = &calibration;
  request.progress = false;
  request.work_dir = work_dir;
  request.activations = activations;
  return pipeline::quantize(model, pipeline::resolve_method(method, config), request).report;
}

}  // namespace ptq::test
