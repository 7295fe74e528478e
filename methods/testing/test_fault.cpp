#include "methods/testing/test_fault.h"

#include "harness/model/llama_model.h"
#include "harness/ptq/config_schema.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace ptq::methods {

namespace {

struct TestFaultConfig {
  std::string block_while_exists, fail_while_exists;
  bool nan = false;
  bool calibrate = false;
  static const quant::ConfigSchema<TestFaultConfig>& schema() {
    using C = TestFaultConfig;
    static const auto schema = quant::ConfigSchema<C>("test_fault")
                                   .field("block_while_exists", &C::block_while_exists, "off")
                                   .field("fail_while_exists", &C::fail_while_exists, "off")
                                   .field("nan", &C::nan, "off")
                                   .field("calibrate", &C::calibrate, "off");
    return schema;
  }
  nlohmann::json to_json() const { return schema().to_json(*this); }
  static TestFaultConfig from_json(const nlohmann::json& j) { return schema().from_json(j); }
};

class TestFault final : public quant::MethodWithConfig<TestFaultConfig> {
 public:
  std::string name() const override { return "test_fault"; }
  std::string description() const override { return "harness tests only: blocks, fails or produces NaN on request"; }
  bool needs_calibration(const nlohmann::json& config) const override { return TestFaultConfig::from_json(config).calibrate; }
  std::string model_support() const override { return "llama, mistral, qwen2, qwen3: it does not look at the architecture"; }
  void check_model(const LlamaConfig&, const quant::QuantSetting&, const nlohmann::json&) const override {}
  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting&, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const TestFaultConfig c = TestFaultConfig::from_json(config);
    std::error_code ec;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    while (!c.block_while_exists.empty() && std::filesystem::exists(c.block_while_exists, ec) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!c.fail_while_exists.empty() && std::filesystem::exists(c.fail_while_exists, ec))
      throw std::runtime_error(fmt::format("test_fault: failing on purpose while {} exists", c.fail_while_exists));
    if (c.nan) {
      c10::InferenceMode guard;
      DecoderBlock b = model.block(0);
      b.named_tensors().front().second->fill_(NAN);
      model.set_block(0, std::move(b));
    }
    quant::MethodReport report;
    if (c.calibrate) {  // what the method was given, so that tests can check the runner's windows
      if (ctx.calibration == nullptr) throw std::runtime_error("test_fault: calibrate=true but no calibration windows");
      const at::Tensor w = *ctx.calibration;
      report.summary = {{"calibration_shape", w.sizes().vec()}, {"calibration_sum", w.sum().item<int64_t>()}};
    }
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_test_fault() { return std::make_unique<TestFault>(); }

}  // namespace ptq::methods
