#include "support/apply_method.h"

#include "quant/quant_setting.h"
#include "register_all.h"

namespace ptq::test {

quant::MethodReport apply_method(LlamaModel& model, const std::string& method, const std::string& setting,
                                 const nlohmann::json& config, const at::Tensor& calibration, const std::string& work_dir,
                                 const std::string& activations) {
  const auto& m = methods::registry().get(method);
  quant::MethodContext ctx;
  ctx.progress = false;
  ctx.calibration = &calibration;
  ctx.work_dir = work_dir;
  ctx.activations = activations;
  return m.apply(model, quant::QuantSetting::parse(setting), m.resolve_config(config), ctx);
}

}  // namespace ptq::test
