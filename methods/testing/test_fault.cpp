#include "testing/test_fault.h"

#include "model/llama_model.h"
#include "util/strict_json.h"

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
  nlohmann::json to_json() const {
    return {{"block_while_exists", block_while_exists}, {"fail_while_exists", fail_while_exists}, {"nan", nan},
            {"calibrate", calibrate}};
  }
  static TestFaultConfig from_json(const nlohmann::json& j) {
    TestFaultConfig c;
    StrictJsonReader r(j, "config of method 'test_fault'");
    r.read("block_while_exists", c.block_while_exists);
    r.read("fail_while_exists", c.fail_while_exists);
    r.read("nan", c.nan);
    r.read("calibrate", c.calibrate);
    r.finish();
    return c;
  }
};

class TestFault final : public quant::Method {
 public:
  std::string name() const override { return "test_fault"; }
  std::string description() const override { return "harness tests only: blocks, fails or produces NaN on request"; }
  nlohmann::json default_config() const override { return TestFaultConfig{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    return TestFaultConfig::from_json(overrides).to_json();
  }
  bool needs_calibration(const nlohmann::json& config) const override { return TestFaultConfig::from_json(config).calibrate; }
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
