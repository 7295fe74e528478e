// Plugins for tests/integration/test_plugins.cpp, one source built in variants (tests/CMakeLists.txt):
//   ptq_test_plugin                 methods plugin_rtn (RTN through the public API) and plugin_throws (its
//                                   apply throws), the task plugin_blocks
//   ptq_test_plugin_wrong_abi       the same, with the ABI tag of another LibTorch
//   ptq_test_plugin_register_throws register_all throws after adding a method
//   ptq_test_plugin_duplicate       adds a method named "rtn"
//   ptq_test_plugin_no_entry        no entry point
#include "harness/model/block_reader.h"
#include "harness/model/llama_model.h"
#include "harness/pipeline/plugin.h"
#include "harness/quant/uniform_quantizer.h"
#include "harness/util/strict_json.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <stdexcept>
#include <string>

namespace {

// A method with no config keys.
class NoConfigMethod : public ptq::quant::Method {
 public:
  nlohmann::json default_config() const override { return nlohmann::json::object(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    ptq::StrictJsonReader(overrides, "config of method '" + name() + "'").finish();
    return default_config();
  }
  bool needs_calibration(const nlohmann::json&) const override { return false; }
  std::string model_support() const override { return "llama: the seven linear weights"; }
  void check_model(const ptq::LlamaConfig&, const ptq::quant::QuantSetting&, const nlohmann::json&) const override {}
};

// RTN written against the public headers only: the test compares its cells with ptqbench's own rtn.
class PluginRtn final : public NoConfigMethod {
 public:
  std::string name() const override { return "plugin_rtn"; }
  std::string description() const override { return "test plugin: round-to-nearest through the public API"; }
  ptq::quant::MethodReport apply(ptq::LlamaModel& model, const ptq::quant::QuantSetting& setting, const nlohmann::json&,
                                 ptq::quant::MethodContext&) const override {
    c10::InferenceMode guard;
    const ptq::quant::QuantizerSpec spec = setting.weight_spec();
    ptq::BlockReader reader(model, 0, model.num_blocks());
    for (size_t i = 0; i < model.num_blocks(); ++i) {
      ptq::DecoderBlock block = reader.next();
      for (auto& [suffix, weight] : block.named_tensors())
        if (suffix.find("_proj.weight") != std::string::npos && spec.enabled())
          *weight = ptq::quant::fake_quant_weight(*weight, spec);
      model.set_block(i, std::move(block));
    }
    ptq::quant::apply_activation_quant(model, setting);
    return {};
  }
};

class PluginThrows final : public NoConfigMethod {
 public:
  std::string name() const override { return "plugin_throws"; }
  std::string description() const override { return "test plugin: apply throws"; }
  ptq::quant::MethodReport apply(ptq::LlamaModel&, const ptq::quant::QuantSetting&, const nlohmann::json&,
                                 ptq::quant::MethodContext&) const override {
    throw std::runtime_error("plugin_throws: a deliberate failure inside the plugin");
  }
};

class DuplicateRtn final : public NoConfigMethod {
 public:
  std::string name() const override { return "rtn"; }
  std::string description() const override { return "test plugin: a name ptqbench has"; }
  ptq::quant::MethodReport apply(ptq::LlamaModel&, const ptq::quant::QuantSetting&, const nlohmann::json&,
                                 ptq::quant::MethodContext&) const override {
    return {};
  }
};

// A task that scores nothing: the number of decoder blocks, so that the test sees a plugin's metric.
class BlockCount final : public ptq::eval::Evaluator {
 public:
  explicit BlockCount(ptq::eval::TaskSpec spec) : spec_(std::move(spec)) {}
  const ptq::eval::TaskSpec& spec() const override { return spec_; }
  ptq::eval::TaskResult evaluate(const ptq::LlamaModel& model, bool) const override {
    ptq::eval::TaskResult r;
    r.task = "plugin_blocks";
    r.metrics.push_back({"plugin_blocks", static_cast<double>(model.num_blocks()), 0.0, 1, true});
    return r;
  }

 private:
  ptq::eval::TaskSpec spec_;
};

[[maybe_unused]] void register_all(ptq::plugin::Registrar& r) {
#if defined(PTQ_TEST_PLUGIN_DUPLICATE)
  r.add_method(std::make_unique<DuplicateRtn>());
#else
  r.add_method(std::make_unique<PluginRtn>());
#if defined(PTQ_TEST_PLUGIN_REGISTER_THROWS)
  throw std::runtime_error("register_all: a deliberate failure after adding plugin_rtn");
#endif
  r.add_method(std::make_unique<PluginThrows>());
  ptq::eval::EvaluatorInfo task;
  task.name = "plugin_blocks";
  task.description = "test plugin: the model's number of decoder blocks";
  task.kind = "perplexity";
  task.needs_tokenizer = false;
  task.metrics = {{"plugin_blocks", true}};
  task.load = [](const ptq::eval::TaskSpec& spec, const ptq::eval::EvalData&) { return std::make_unique<BlockCount>(spec); };
  r.add_evaluator(std::move(task));
#endif
}

}  // namespace

#if defined(PTQ_TEST_PLUGIN_WRONG_ABI)
// What a plugin built against another LibTorch carries: the same tag with another libtorch version.
extern "C" __attribute__((visibility("default"))) const ptq::plugin::Descriptor* ptqbench_plugin_v1() {
  static const ptq::plugin::Descriptor d{PTQBENCH_PLUGIN_ABI_TAG_FOR_TORCH("9.9.9"), "ptqbench-test-plugin-wrong-abi",
                                         "1.0.0", "test plugin: wrong ABI", register_all};
  return &d;
}
#elif defined(PTQ_TEST_PLUGIN_NO_ENTRY)
extern "C" __attribute__((visibility("default"))) int not_a_ptqbench_plugin() { return 0; }
#elif defined(PTQ_TEST_PLUGIN_DUPLICATE)
PTQBENCH_PLUGIN("ptqbench-test-plugin-duplicate", "1.0.0", "test plugin: a method named rtn", register_all)
#elif defined(PTQ_TEST_PLUGIN_REGISTER_THROWS)
PTQBENCH_PLUGIN("ptqbench-test-plugin-register-throws", "1.0.0", "test plugin: register_all throws", register_all)
#else
PTQBENCH_PLUGIN("ptqbench-test-plugin", "1.0.0", "test plugin: plugin_rtn, plugin_throws, plugin_blocks", register_all)
#endif
