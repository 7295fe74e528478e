#include "methods/omniquant/omni_parts.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>
#include <stdexcept>

namespace ptq::methods {

namespace {

// s[|s| < t] = sign(s) * t, in place and outside autograd (the reference's TruncateFunction; sign(0) = 0
// keeps exact zeros).
void truncate_small(at::Tensor& s, double t) {
  at::NoGradGuard no_grad;
  const at::Tensor small = s.abs() < t;
  s.copy_(at::where(small, s.sign() * t, s));
}

class OmniParts final : public recon::BlockParts {
 public:
  OmniParts(const recon::BlockInputs& in, const quant::QuantizerSpec& spec, const LwcOptions& lwc, const LetOptions& let)
      : spec_(spec), lwc_(lwc), let_(let), config_(in.config) {
    if (let.enabled) {
      const LinearInputAbsMax act =
          in.x_fp.defined() ? linear_input_absmax(in.block, in.config, in.x_fp, in.rope, in.batch_size) : LinearInputAbsMax{};
      const bool qk = let.qk_scale != QkScale::kOff;
      if (let.init != "smoothquant" && let.init != "identity" && !let.initialiser)
        throw std::logic_error("LET init \"" + let.init + "\" needs LetOptions::initialiser");
      LetParams p = let.initialiser ? let.initialiser(in.block, in.config, act, let.shift, qk)
                                    : smoothquant_init(in.block, in.config, act, let.alpha, let.signed_weight_max, let.shift, qk);
      if (let.init == "identity")
        for (at::Tensor* s : {&p.qkv_scale, &p.out_scale, &p.fc1_scale}) *s = at::ones_like(*s);
      const int64_t half = in.config.head_dim / 2;
      if (let.qk_scale == QkScale::kRopePaired)  // one entry per RoPE pair: [kv heads, head_dim / 2]
        p.qkt_scale = p.qkt_scale.view({in.config.num_key_value_heads, in.config.head_dim}).narrow(1, 0, half).contiguous();
      raw_ = {p.qkv_scale, p.qkv_shift, p.out_scale, p.out_shift, p.qkt_scale, p.fc1_scale, p.fc1_shift};
      for (auto& t : raw_)
        if (t.defined()) t = t.to(at::kFloat).clone().requires_grad_(true);
    }
    if (!spec.enabled()) return;  // 16-bit weights (e.g. W16A4): LET only
    // LWC's starting logits: the fixed init, or each linear's pre-searched ratio on the LET-initialised block.
    std::vector<double> logits(7, lwc.enabled ? lwc.init : 30.0);
    if (lwc.initial_ratios && in.x_fp.defined()) {
      at::NoGradGuard no_grad;
      const DecoderBlock t = let.enabled ? let_transform(in.block, in.config, let_params(/*for_fold=*/true)) : in.block;
      const std::vector<double> ratios = lwc.initial_ratios(t, in, spec);
      for (size_t k = 0; k < ratios.size() && k < logits.size(); ++k) logits[k] = ratios[k] < 1 ? std::log(ratios[k] / (1 - ratios[k])) : 30.0;
    }
    DecoderBlock copy = in.block;
    const auto ls = copy.linears();
    for (size_t k = 0; k < ls.size(); ++k) {
      up_.push_back(quant::lwc_init(ls[k]->weight, spec, logits[k]).to(at::kFloat).requires_grad_(true));
      low_.push_back(quant::lwc_init(ls[k]->weight, spec, logits[k]).to(at::kFloat).requires_grad_(true));
      if (lwc.proxy) proxy_.push_back(at::zeros(ls[k]->weight.sizes(), at::kFloat).requires_grad_(true));
    }
  }

  std::vector<train::ParamGroup> param_groups() override {
    std::vector<train::ParamGroup> groups;
    if (let_.enabled) {
      train::ParamGroup g;
      g.lr = let_.lr;
      for (size_t k = 0; k < raw_.size(); ++k)
        if (raw_[k].defined() && (!is_shift(k) || let_.train_shift)) g.params.push_back(raw_[k]);
      groups.push_back(g);
    }
    train::ParamGroup g;
    g.lr = lwc_.enabled ? lwc_.lr : 0.0;
    g.params.insert(g.params.end(), up_.begin(), up_.end());
    g.params.insert(g.params.end(), low_.begin(), low_.end());
    if (!g.params.empty()) groups.push_back(g);
    if (!proxy_.empty()) {
      train::ParamGroup p;
      p.lr = lwc_.proxy_lr;
      p.params = proxy_;
      groups.push_back(p);
    }
    return groups;
  }

  // Snapshots the initial values for the anchor regulariser (LwcOptions::anchor_to_init).
  void anchor_initial_values() {
    if (!lwc_.anchor_to_init) return;
    for (const train::ParamGroup& g : param_groups())
      if (g.lr > 0)
        for (const at::Tensor& t : g.params) anchors_.emplace_back(t, t.detach().clone());
  }

  at::Tensor regularizer(double) const override {
    if (anchors_.empty()) return {};
    at::Tensor sum = at::zeros({}, at::kFloat);
    for (const auto& [t, t0] : anchors_) sum = sum + (t - t0).pow(2).mean();
    return sum / static_cast<double>(anchors_.size());
  }

  void before_step() override {
    for (size_t k = 0; k < raw_.size(); ++k)
      if (raw_[k].defined() && !is_shift(k)) truncate_small(raw_[k], let_.truncate);
  }

  DecoderBlock temporary_block(const DecoderBlock& fp) const override {
    DecoderBlock t = let_.enabled ? let_transform(fp, config_, let_params(/*for_fold=*/false)) : fp;
    auto ls = t.linears();
    for (size_t k = 0; k < up_.size(); ++k)
      ls[k]->weight = proxy_.empty() ? quant::fake_quant_weight(ls[k]->weight, spec_, up_[k], low_[k])
                                     : quant::fake_quant_weight_proxy(ls[k]->weight, spec_, up_[k], low_[k], proxy_[k]);
    return t;
  }

  // The reference since PR #36 casts the whole block (learned parameters included) to the model's dtype
  // and folds there; the paper-era code and LRQuant fold in fp32 and cast afterwards (fold_in_fp32).
  void fold(DecoderBlock& block, const std::string& prefix,
            std::vector<std::pair<std::string, at::Tensor>>& qparams) override {
    at::NoGradGuard no_grad;
    before_step();
    const at::ScalarType dtype = block.input_layernorm.scalar_type();
    const at::ScalarType work = let_.fold_in_fp32 ? at::kFloat : dtype;
    if (work != dtype) block.cast(work);
    if (let_.enabled) {
      LetParams p = let_params(/*for_fold=*/true);
      for (at::Tensor* t : {&p.qkv_scale, &p.qkv_shift, &p.out_scale, &p.out_shift, &p.qkt_scale, &p.fc1_scale, &p.fc1_shift})
        if (t->defined()) *t = t->to(work);
      block = let_transform(block, config_, p);
    }
    auto ls = block.linears();
    for (size_t k = 0; k < up_.size(); ++k) {
      quant::QParams qp;
      const at::Tensor up = up_[k].detach().to(work), low = low_[k].detach().to(work);
      ls[k]->weight = proxy_.empty() ? quant::fake_quant_weight(ls[k]->weight, spec_, up, low, &qp)
                                     : quant::fake_quant_weight_proxy(ls[k]->weight, spec_, up, low, proxy_[k].detach().to(work), &qp);
      qparams.emplace_back(prefix + DecoderBlock::kLinearNames[k] + ".weight_scale", qp.scale);
      qparams.emplace_back(prefix + DecoderBlock::kLinearNames[k] + ".weight_zero", qp.zero);
    }
    if (work != dtype) block.cast(dtype);
  }

  std::vector<std::pair<std::string, at::Tensor>> state() const override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (size_t k = 0; k < up_.size(); ++k) {
      out.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".lwc_up", up_[k].detach());
      out.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".lwc_low", low_[k].detach());
      if (!proxy_.empty()) out.emplace_back(std::string(DecoderBlock::kLinearNames[k]) + ".proxy", proxy_[k].detach());
    }
    for (size_t k = 0; k < raw_.size(); ++k)
      if (raw_[k].defined()) out.emplace_back(kLetNames[k], raw_[k].detach());
    return out;
  }

  void load_state(const std::map<std::string, at::Tensor>& state) override {
    at::NoGradGuard no_grad;
    for (size_t k = 0; k < up_.size(); ++k) {
      up_[k].copy_(state.at(std::string(DecoderBlock::kLinearNames[k]) + ".lwc_up"));
      low_[k].copy_(state.at(std::string(DecoderBlock::kLinearNames[k]) + ".lwc_low"));
      if (!proxy_.empty()) proxy_[k].copy_(state.at(std::string(DecoderBlock::kLinearNames[k]) + ".proxy"));
    }
    for (size_t k = 0; k < raw_.size(); ++k)
      if (raw_[k].defined()) raw_[k].copy_(state.at(kLetNames[k]));
  }

 private:
  static constexpr const char* kLetNames[] = {"let.qkv_scale", "let.qkv_shift", "let.out_scale", "let.out_shift",
                                              "let.qkt_scale", "let.fc1_scale", "let.fc1_shift"};
  static bool is_shift(size_t k) { return k == 1 || k == 3 || k == 6; }

  // The full-size parameters; at folding time a shift that stayed all zero is dropped, so that a
  // norm or linear gains a bias only when the shift is non-zero.
  LetParams let_params(bool for_fold) const {
    const auto shift = [&](const at::Tensor& d) {
      if (!d.defined() || (for_fold && !d.detach().ne(0).any().item<bool>())) return at::Tensor();
      return for_fold ? d.detach() : d;
    };
    const auto scale = [&](const at::Tensor& s) { return for_fold ? s.detach() : s; };
    LetParams p;
    p.qkv_scale = scale(raw_[0]);
    p.qkv_shift = shift(raw_[1]);
    p.out_scale = scale(raw_[2]);
    p.out_shift = shift(raw_[3]);
    if (raw_[4].defined()) p.qkt_scale = let_.qk_scale == QkScale::kRopePaired ? at::cat({scale(raw_[4]), scale(raw_[4])}, 1).reshape({-1}) : scale(raw_[4]);
    p.fc1_scale = scale(raw_[5]);
    p.fc1_shift = shift(raw_[6]);
    return p;
  }

  quant::QuantizerSpec spec_;
  LwcOptions lwc_;
  LetOptions let_;
  LlamaConfig config_;
  std::vector<at::Tensor> up_, low_;
  std::vector<at::Tensor> proxy_;      // MPPQ's log-proxies, one per linear (empty: plain rounding)
  std::vector<at::Tensor> raw_ = std::vector<at::Tensor>(7);  // LET, in kLetNames order
  std::vector<std::pair<at::Tensor, at::Tensor>> anchors_;   // (trained tensor, its initial value)
};

}  // namespace

std::unique_ptr<recon::BlockParts> make_omni_parts(const recon::BlockInputs& in, const quant::QuantizerSpec& weight_spec,
                                            const LwcOptions& lwc, const LetOptions& let) {
  auto parts = std::make_unique<OmniParts>(in, weight_spec, lwc, let);
  parts->anchor_initial_values();
  return parts;
}

}  // namespace ptq::methods
