#include "omniquant/omniquant.h"

#include "io/sha256.h"
#include "model/llama_model.h"
#include "recon/block_recon.h"
#include "util/errors.h"
#include "util/strict_json.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

nlohmann::json OmniQuantConfig::to_json() const {
  return {{"epochs", epochs}, {"lwc", lwc},   {"lwc_lr", lwc_lr},         {"mode", mode},
          {"aug_loss", aug_loss}, {"let", let}, {"batch_size", batch_size}};
}

OmniQuantConfig OmniQuantConfig::from_json(const nlohmann::json& j) {
  OmniQuantConfig c;
  StrictJsonReader r(j, "config of method 'omniquant'");
  r.read("epochs", c.epochs);
  r.read("lwc", c.lwc);
  r.read("lwc_lr", c.lwc_lr);
  r.read_choice("mode", c.mode, {"released", "paper"});
  r.read_choice("aug_loss", c.aug_loss, {"auto", "on", "off"});
  r.read_choice("let", c.let, {"auto", "on", "off"});
  r.read("batch_size", c.batch_size);
  r.finish();
  if (c.epochs < -1) throw InputError(fmt::format("config of method 'omniquant': epochs {} (expected >= 0, or -1 = auto)", c.epochs));
  if (c.lwc_lr < 0) throw InputError("config of method 'omniquant': lwc_lr must be >= 0 (0 = by mode)");
  if (c.batch_size < 1) throw InputError("config of method 'omniquant': batch_size must be >= 1");
  return c;
}

namespace {

class OmniQuant final : public quant::Method {
 public:
  std::string name() const override { return "omniquant"; }
  std::string description() const override {
    return "block-wise reconstruction with learnable weight clipping (LWC); LET pending (weight-activation: let=off)";
  }
  nlohmann::json default_config() const override { return OmniQuantConfig{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    return OmniQuantConfig::from_json(overrides).to_json();
  }
  bool needs_calibration(const nlohmann::json& config) const override {
    const auto c = OmniQuantConfig::from_json(config);
    return c.epochs != 0;
  }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const OmniQuantConfig c = OmniQuantConfig::from_json(config);
    setting.validate_for(model.config());
    const bool weight_only = setting.abits >= 16 && setting.kv_bits >= 16;
    const bool let = c.let == "on" || (c.let == "auto" && !weight_only);
    if (let)
      throw InputError(fmt::format(
          "omniquant: LET is not implemented yet; setting {} uses it in the released scripts. Set \"let\": \"off\" for "
          "the LWC-only ablation",
          setting.str()));
    const int epochs = c.epochs >= 0 ? c.epochs : (setting.wbits == 2 ? 40 : 20);
    const bool aug = c.aug_loss == "on" || (c.aug_loss == "auto" && setting.wbits == 2 && weight_only);
    const double lwc_lr = c.lwc_lr > 0 ? c.lwc_lr : (c.mode == "paper" ? 5e-3 : 1e-2);
    at::Tensor calibration;
    if (epochs > 0) {
      if (ctx.calibration == nullptr || !ctx.calibration->defined())
        throw InputError("omniquant needs calibration windows (experiment spec \"calibration\")");
      calibration = *ctx.calibration;
    }
    model.act_quant = {setting.act_spec(), setting.kv_spec()};
    quant::MethodReport report;
    const quant::QuantizerSpec wspec = setting.weight_spec();
    // LWC off: the logits never train (lr 0) and sit at +inf-like 30 (sigmoid = 1): plain min/max.
    const double init = c.lwc ? 4.0 : 30.0;
    const double lr = c.lwc ? lwc_lr : 0.0;
    if (!wspec.enabled()) {
      report.summary = {{"note", "16-bit weights: nothing to reconstruct"}};
      return report;
    }
    recon::ReconOptions ro;
    ro.epochs = epochs;
    ro.batch_size = c.batch_size;
    ro.aug_loss = aug;
    ro.progress = ctx.progress;
    if (!ctx.work_dir.empty() && epochs > 0) {
      // Checkpoints belong to exactly this run: setting, resolved config and calibration windows.
      const at::Tensor w = calibration.to(at::kLong).contiguous();
      const std::string windows =
          io::sha256_hex(std::string_view(static_cast<const char*>(w.data_ptr()), w.numel() * sizeof(int64_t)));
      ro.checkpoint_dir = ctx.work_dir + "/omniquant";
      ro.checkpoint_key = io::sha256_hex(setting.str() + "|" + config.dump() + "|" + windows).substr(0, 16);
    }
    const recon::ReconReport rr = recon::reconstruct(
        model, epochs > 0 ? calibration : at::empty({0, 0}, at::kLong),
        [&](const DecoderBlock& b, size_t) { return recon::make_lwc_parts(b, wspec, lr, init); }, ro);
    report.qparams = rr.qparams;
    report.summary = {{"epochs", epochs}, {"lwc", c.lwc}, {"lwc_lr", lr}, {"aug_loss", aug}, {"let", false},
                      {"calibration_windows", epochs > 0 ? calibration.size(0) : 0}, {"recon", rr.to_json()}};
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_omniquant() { return std::make_unique<OmniQuant>(); }

}  // namespace ptq::methods
