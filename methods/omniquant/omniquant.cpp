#include "omniquant/omniquant.h"

#include "io/sha256.h"
#include "model/llama_model.h"
#include "recon/block_recon.h"
#include "recon/omni_parts.h"
#include "util/errors.h"
#include "util/strict_json.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace ptq::methods {

nlohmann::json OmniQuantConfig::to_json() const {
  return {{"epochs", epochs}, {"lwc", lwc},         {"lwc_lr", lwc_lr}, {"mode", mode},
          {"aug_loss", aug_loss}, {"let", let},   {"let_lr", let_lr}, {"alpha", alpha},
          {"shift", shift},   {"let_init", let_init}, {"smooth_init", smooth_init}, {"qk_scale", qk_scale}, {"nan_policy", nan_policy}, {"batch_size", batch_size}};
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
  r.read("let_lr", c.let_lr);
  r.read("alpha", c.alpha);
  r.read_choice("shift", c.shift, {"auto", "on", "off"});
  r.read_choice("let_init", c.let_init, {"smoothquant", "identity"});
  r.read_choice("smooth_init", c.smooth_init, {"auto", "abs_max", "signed_max"});
  r.read_choice("qk_scale", c.qk_scale, {"released", "rope_paired", "off"});
  r.read_choice("nan_policy", c.nan_policy, {"stop", "skip-block"});
  r.read("batch_size", c.batch_size);
  r.finish();
  if (c.epochs < -1) throw InputError(fmt::format("config of method 'omniquant': epochs {} (expected >= 0, or -1 = auto)", c.epochs));
  if (c.lwc_lr < 0) throw InputError("config of method 'omniquant': lwc_lr must be >= 0 (0 = by mode)");
  if (c.let_lr < 0) throw InputError("config of method 'omniquant': let_lr must be >= 0 (0 = by mode)");
  if (!(c.alpha >= 0 && c.alpha <= 1)) throw InputError(fmt::format("config of method 'omniquant': alpha {} (expected 0..1)", c.alpha));
  if (c.batch_size < 1) throw InputError("config of method 'omniquant': batch_size must be >= 1");
  return c;
}

namespace {

class OmniQuant final : public quant::Method {
 public:
  std::string name() const override { return "omniquant"; }
  std::string description() const override {
    return "block-wise reconstruction with learnable weight clipping (LWC) and equivalent transformation (LET)";
  }
  nlohmann::json default_config() const override { return OmniQuantConfig{}.to_json(); }
  nlohmann::json resolve_config(const nlohmann::json& overrides) const override {
    return OmniQuantConfig::from_json(overrides).to_json();
  }
  bool needs_calibration(const nlohmann::json& config) const override {
    // LET's initial scales come from calibration activations even without training; "auto" LET may be
    // off for the setting, but the config alone cannot tell, so it asks for calibration too.
    const auto c = OmniQuantConfig::from_json(config);
    return c.epochs != 0 || c.let != "off";
  }

  quant::MethodReport apply(LlamaModel& model, const quant::QuantSetting& setting, const nlohmann::json& config,
                            quant::MethodContext& ctx) const override {
    const OmniQuantConfig c = OmniQuantConfig::from_json(config);
    setting.validate_for(model.config());
    const bool weight_only = setting.abits >= 16 && setting.kv_bits >= 16;
    const bool let = c.let == "on" || (c.let == "auto" && !weight_only);
    const int epochs = c.epochs >= 0 ? c.epochs : (setting.wbits == 2 ? 40 : 20);
    const bool aug = c.aug_loss == "on" || (c.aug_loss == "auto" && setting.wbits == 2 && weight_only);
    const bool paper = c.mode == "paper";
    recon::LwcOptions lwc;
    lwc.enabled = c.lwc;
    lwc.lr = c.lwc_lr > 0 ? c.lwc_lr : (paper ? 5e-3 : 1e-2);
    recon::LetOptions lo;
    lo.enabled = let;
    lo.lr = c.let_lr > 0 ? c.let_lr : (paper ? 1e-2 : 5e-3);
    lo.alpha = c.alpha;
    lo.smoothquant_init = c.let_init == "smoothquant";
    lo.shift = c.shift == "on" || (c.shift == "auto" && paper);
    lo.train_shift = lo.shift;
    lo.signed_weight_max = c.smooth_init == "signed_max" || (c.smooth_init == "auto" && paper);
    lo.qk_scale = c.qk_scale;
    lo.fold_in_fp32 = paper;
    at::Tensor calibration = at::empty({0, 0}, at::kLong);
    if (epochs > 0 || let) {
      if (ctx.calibration == nullptr || !ctx.calibration->defined())
        throw InputError(fmt::format("omniquant needs calibration windows (experiment spec \"calibration\", quantize "
                                     "--calib){}",
                                     epochs == 0 ? " for LET's initial scales" : ""));
      calibration = *ctx.calibration;
    }
    model.act_quant = {setting.act_spec(), setting.kv_spec()};
    quant::MethodReport report;
    const quant::QuantizerSpec wspec = setting.weight_spec();
    if (!wspec.enabled() && !let) {
      report.summary = {{"note", "16-bit weights and no LET: nothing to reconstruct"}};
      return report;
    }
    recon::ReconOptions ro;
    ro.epochs = epochs;
    ro.batch_size = c.batch_size;
    ro.aug_loss = aug;
    ro.progress = ctx.progress;
    ro.nan_policy = c.nan_policy;
    ro.fallback_fold = [&](DecoderBlock& b, const std::string& prefix, std::vector<std::pair<std::string, at::Tensor>>& qp) {
      for (auto& [name, w] : std::vector<std::pair<const char*, Linear*>>{
               {"self_attn.q_proj", &b.q_proj}, {"self_attn.k_proj", &b.k_proj}, {"self_attn.v_proj", &b.v_proj},
               {"self_attn.o_proj", &b.o_proj}, {"mlp.gate_proj", &b.gate_proj}, {"mlp.up_proj", &b.up_proj},
               {"mlp.down_proj", &b.down_proj}}) {
        if (!wspec.enabled()) continue;
        quant::QParams q;
        w->weight = quant::fake_quant_weight(w->weight, wspec, {}, {}, &q);
        qp.emplace_back(prefix + name + ".weight_scale", q.scale);
        qp.emplace_back(prefix + name + ".weight_zero", q.zero);
      }
    };
    if (!ctx.work_dir.empty() && epochs > 0) {
      // Checkpoints belong to exactly this run: setting, resolved config and calibration windows.
      const at::Tensor w = calibration.to(at::kLong).contiguous();
      const std::string windows =
          io::sha256_hex(std::string_view(static_cast<const char*>(w.data_ptr()), w.numel() * sizeof(int64_t)));
      ro.checkpoint_dir = ctx.work_dir + "/omniquant";
      ro.checkpoint_key = io::sha256_hex(setting.str() + "|" + config.dump() + "|" + windows).substr(0, 16);
    }
    const recon::ReconReport rr = recon::reconstruct(
        model, calibration, [&](const recon::BlockInputs& in) { return recon::make_omni_parts(in, wspec, lwc, lo); }, ro);
    model.sync_bias_layout();  // biases from non-zero LET shifts, so the saved checkpoint loads back
    report.qparams = rr.qparams;
    report.summary = {{"epochs", epochs},
                      {"lwc", c.lwc},
                      {"lwc_lr", c.lwc ? lwc.lr : 0.0},
                      {"aug_loss", aug},
                      {"let", let},
                      {"calibration_windows", calibration.size(0)},
                      {"recon", rr.to_json()}};
    nlohmann::json skipped = nlohmann::json::array();
    for (size_t i = 0; i < rr.blocks.size(); ++i)
      if (!rr.blocks[i].skipped.empty()) skipped.push_back(i);
    if (!skipped.empty()) report.summary["blocks_kept_rtn_after_nan"] = skipped;
    if (let)
      report.summary["let_options"] = {{"let_lr", lo.lr},       {"alpha", lo.alpha}, {"let_init", c.let_init},   {"shift", lo.shift},
                                       {"smooth_init", lo.signed_weight_max ? "signed_max" : "abs_max"},
                                       {"qk_scale", lo.qk_scale}, {"fold_in_fp32", lo.fold_in_fp32},
                                       {"gqa_shared_scales", model.config().kv_groups() > 1}};
    return report;
  }
};

}  // namespace

std::unique_ptr<quant::Method> make_omniquant() { return std::make_unique<OmniQuant>(); }

}  // namespace ptq::methods
