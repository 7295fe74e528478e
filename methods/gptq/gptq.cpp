#include "methods/gptq/gptq.h"

#include "harness/model/llama_model.h"
#include "harness/recon/block_recon.h"
#include "harness/recon/linear_inputs.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <array>
#include <chrono>

namespace ptq::methods {

const quant::ConfigSchema<GptqConfig>& GptqConfig::schema() {
  using C = GptqConfig;
  static const auto schema =
      quant::ConfigSchema<C>("gptq")
          .field("blocksize", &C::blocksize, "gptq.py fasterquant(blocksize=128)")
          .field("percdamp", &C::percdamp, "llama.py --percdamp .01")
          .field("act_order", &C::act_order,
                 "on: the GPTQ README's LLaMA command (--act-order); OmniQuant's GPTQ rows match it (llama.py: off)")
          .field("true_sequential", &C::true_sequential,
                 "on: the GPTQ README's LLaMA command (--true-sequential); llama.py: off")
          .field("static_groups", &C::static_groups, "llama.py --static-groups (off)")
          .choice("group_params", &C::group_params,
                  "batch_start: gptq.py (a group's columns as its lazy batch began); updated: Algorithm 1",
                  {{"batch_start", GroupParams::kBatchStart}, {"updated", GroupParams::kUpdated}})
          .choice("range", &C::range, "gptq: quant.py Quantizer (range contains 0); minmax: OmniQuant's quantizer",
                  {{"gptq", Range::kGptq}, {"minmax", Range::kMinMax}});
  return schema;
}

nlohmann::json GptqConfig::to_json() const { return schema().to_json(*this); }

GptqConfig GptqConfig::from_json(const nlohmann::json& j) {
  GptqConfig c = schema().from_json(j);
  const std::string& where = schema().context();
  if (c.blocksize < 1) throw InputError(fmt::format("{}: blocksize {} (expected >= 1)", where, c.blocksize));
  if (!(c.percdamp > 0 && c.percdamp <= 1))
    throw InputError(fmt::format("{}: percdamp {} (expected 0 < percdamp <= 1)", where, c.percdamp));
  return c;
}

namespace {

GptqSolverOptions solver_options(const GptqConfig& c, const quant::QuantSetting& setting) {
  GptqSolverOptions o;
  o.spec = setting.weight_spec();
  o.gptq_range = c.range == GptqConfig::Range::kGptq;
  o.blocksize = c.blocksize;
  o.percdamp = c.percdamp;
  o.act_order = c.act_order;
  o.static_groups = c.static_groups;
  o.group_params = c.group_params;
  return o;
}

// The Hessian of a linear group's inputs over the calibration windows `x` ([n, T, hidden]), one window at
// a time (as llama.py's hooks see them: one sequence per forward).
at::Tensor group_hessian(const DecoderBlock& block, const recon::BlockInputs& in, recon::LinearGroup group, const at::Tensor& x) {
  using recon::LinearGroup;
  const Linear& first = group == LinearGroup::kQkv    ? block.q_proj
                        : group == LinearGroup::kOut  ? block.o_proj
                        : group == LinearGroup::kGateUp ? block.gate_proj
                                                        : block.down_proj;
  const int64_t width = first.weight.size(1);
  HessianAccumulator acc(width, block.q_proj.weight.device());
  for (int64_t j = 0; j < x.size(0); ++j)
    acc.add(recon::linear_group_inputs(block, in.config, group, x.narrow(0, j, 1), in.rope, in.act_quant, 1));
  return acc.hessian();
}

// One block's GPTQ: its linears quantized in the constructor, the result kept until fold().
class GptqParts final : public recon::ClosedFormParts {
 public:
  GptqParts(const recon::BlockInputs& in, const GptqSolverOptions& options, bool true_sequential, nlohmann::json& log) {
    if (!in.x_q.defined()) throw InputError("gptq needs calibration windows");
    at::NoGradGuard no_grad;
    block_ = in.block;
    const auto t0 = std::chrono::steady_clock::now();
    std::array<at::Tensor, 4> hessians;
    if (!true_sequential)  // every group's inputs from the unquantized block (llama.py without --true-sequential)
      for (size_t g = 0; g < 4; ++g) hessians[g] = group_hessian(block_, in, recon::kLinearGroups[g], in.x_q);
    nlohmann::json losses = nlohmann::json::object();
    for (size_t g = 0; g < 4; ++g) {
      const recon::LinearGroup group = recon::kLinearGroups[g];
      const at::Tensor h = true_sequential ? group_hessian(block_, in, group, in.x_q) : hessians[g];
      for (const size_t k : recon::linears_of(group)) {
        Linear& linear = *block_.linears()[k];
        const GptqSolution s = gptq_solve(linear.weight, h, options);
        linear.weight = s.weight;
        const std::string name = DecoderBlock::kLinearNames[k];
        qparams_.emplace_back(name + ".weight_scale", s.scale);
        qparams_.emplace_back(name + ".weight_zero", s.zero);
        // With act_order and dynamic groups a group holds permuted columns: each column's group (GPTQ's g_idx).
        if (options.act_order && options.spec.group_size > 0 && !options.static_groups)
          qparams_.emplace_back(name + ".weight_g_idx", s.g_idx);
        losses[name] = s.loss;
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log.push_back({{"block", in.index}, {"error", losses}, {"seconds", seconds}});
  }
};

class Gptq final : public quant::MethodWithConfig<GptqConfig> {
 public:
  std::string name() const override { return "gptq"; }
  std::string paper_name() const override { return "GPTQ"; }
  std::string description() const override {
    return "second-order weight rounding with error compensation (inverse-Hessian OBS updates), block by block";
  }
  bool needs_calibration(const nlohmann::json&) const override { return true; }
  std::string model_support() const override {
    return "llama, mistral, qwen2, qwen3: the seven linear weights; biases and norms (qwen3's q/k norms too) stay full "
           "precision";
  }
  void check_model(const LlamaConfig&, const quant::QuantSetting&, const nlohmann::json&) const override {}

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const GptqConfig c = GptqConfig::from_json(config);
    setting.validate_for(model.config());
    if (!setting.weight_spec().enabled())
      throw InputError(fmt::format("gptq: setting {} leaves the weights at 16 bits: nothing to quantize", setting.str()));
    const recon::ReconOptions o = recon::closed_form_options("gptq", model, setting, ctx);
    quant::apply_activation_quant(model, setting);  // the Hessians see the inputs as the quantized model does
    const GptqSolverOptions so = solver_options(c, setting);
    nlohmann::json blocks = nlohmann::json::array();
    const recon::ReconReport r = recon::reconstruct(
        model, *ctx.calibration,
        [&](const recon::BlockInputs& in) { return std::make_unique<GptqParts>(in, so, c.true_sequential, blocks); }, o);
    quant::MethodReport report;
    report.qparams = r.qparams;
    report.summary = {{"blocks", blocks}, {"precision", o.precision.describe()}};
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_gptq() { return std::make_unique<Gptq>(); }

}  // namespace ptq::methods
