#include "methods/testing/lsq_rtn.h"

#include "harness/model/llama_model.h"
#include "harness/recon/block_recon.h"
#include "harness/recon/linear_inputs.h"
#include "harness/util/errors.h"
#include "harness/util/strict_json.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

namespace ptq::methods {

namespace {

// RTN of `weight`, each row rescaled by its least-squares factor on inputs `x` ([tokens, in]).
at::Tensor lsq_quantize(const at::Tensor& weight, const at::Tensor& x, const quant::QuantizerSpec& spec, at::Tensor& scale,
                        at::Tensor& zero) {
  quant::QParams qp;
  const at::Tensor q = quant::fake_quant_weight(weight, spec, {}, {}, &qp);
  const at::Tensor yq = at::matmul(x, q.t()), y = at::matmul(x, weight.t());  // [tokens, out]
  const at::Tensor den = (yq * yq).sum(0);
  const at::Tensor a = at::where(den > 0, (y * yq).sum(0) / den, at::ones_like(den));  // [out]
  scale = (qp.scale.reshape({weight.size(0), -1}) * a.unsqueeze(1)).reshape(qp.scale.sizes());
  zero = qp.zero;
  return q * a.unsqueeze(1);
}

class LsqParts final : public recon::ClosedFormParts {
 public:
  LsqParts(const recon::BlockInputs& in, const quant::QuantizerSpec& spec) {
    if (!in.x_q.defined()) throw InputError("lsq_rtn needs calibration windows");
    at::NoGradGuard no_grad;
    block_ = in.block;
    const auto ls = block_.linears();
    for (const recon::LinearGroup g : recon::kLinearGroups) {  // each group sees the previous groups updated
      const at::Tensor x = recon::linear_group_inputs(block_, in.config, g, in.x_q, in.rope, in.act_quant, in.batch_size);
      for (const size_t k : recon::linears_of(g)) {
        at::Tensor scale, zero;
        ls[k]->weight = lsq_quantize(ls[k]->weight, x, spec, scale, zero);
        qparams_.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".weight_scale", scale);
        qparams_.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".weight_zero", zero);
      }
    }
  }
};

class LsqRtn final : public quant::Method {
 public:
  std::string name() const override { return "lsq_rtn"; }
  std::string description() const override {
    return "harness tests only: RTN with least-squares row scales, block by block in sub-steps (no optimiser)";
  }
  nlohmann::json default_config() const override { return nlohmann::json::object(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    StrictJsonReader(overrides, "config of method 'lsq_rtn'").finish();  // no keys
    return default_config();
  }
  bool needs_calibration(const nlohmann::json&) const override { return true; }
  std::string model_support() const override { return "llama, mistral, qwen2, qwen3: the seven linear weights only"; }
  void check_model(const LlamaConfig&, const quant::QuantSetting&, const nlohmann::json&) const override {}
  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json&,
                            quant::MethodContext& ctx) const override {
    setting.validate_for(model.config());
    if (ctx.calibration == nullptr || !ctx.calibration->defined()) throw InputError("lsq_rtn needs calibration windows");
    if (!setting.weight_spec().enabled()) throw InputError("lsq_rtn: 16-bit weights leave nothing to quantize");
    quant::apply_activation_quant(model, setting);
    recon::ReconOptions o;
    o.epochs = 0;  // closed form: no optimiser
    o.progress = ctx.progress;
    o.activations = ctx.activations;
    o.loss_log = ctx.loss_log;
    o.profile_trace = ctx.profile_trace;
    const quant::QuantizerSpec spec = setting.weight_spec();
    const recon::ReconReport r = recon::reconstruct(
        model, *ctx.calibration, [&](const recon::BlockInputs& in) { return std::make_unique<LsqParts>(in, spec); }, o);
    quant::MethodReport report;
    report.qparams = r.qparams;
    report.summary = {{"blocks", r.units.size()}};
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_lsq_rtn() { return std::make_unique<LsqRtn>(); }

}  // namespace ptq::methods
