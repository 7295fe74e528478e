// LRQuant: the NLC loss and its gradient against naive double-precision computations, the LAE
// initialisation against its formula, the method end to end (shifts trained, the loss it reports
// includes the NLC term), and test-time adaptation: it works on a copy (the quantized model and the
// per-block checkpoints on disk stay byte-identical), skips the calibration dataset as the released
// code does, and in "released" mode leaves the adapted block without activation quantization.
#include "harness/io/files.h"
#include "harness/model/llama_model.h"
#include "harness/ptq/quant_setting.h"
#include "methods/lrquant/lae_init.h"
#include "methods/lrquant/nlc_loss.h"
#include "methods/omniquant/let.h"
#include "methods/register_all.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::quant::QuantSetting;
using ptq::test::copy_model;

namespace {

// -log|mean over (b, t) of cos(out[b,t,:], target[b,t,:])| in double, written out.
double naive_nlc(const at::Tensor& out, const at::Tensor& target, bool per_token) {
  const at::Tensor a = out.to(at::kDouble), b = target.to(at::kDouble);
  double sum = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < a.size(0); ++i)
    for (int64_t t = 0; t < a.size(1); ++t) {
      double dot = 0, na = 0, nb = 0;
      for (int64_t k = 0; k < a.size(2); ++k) {
        const double x = a[i][t][k].item<double>(), y = b[i][t][k].item<double>();
        dot += x * y;
        na += x * x;
        nb += y * y;
      }
      const double cos = dot / std::max(std::sqrt(na * nb), 1e-8);
      sum += per_token ? -std::log(std::abs(cos)) : cos;
      ++n;
    }
  return per_token ? sum / static_cast<double>(n) : -std::log(std::abs(sum / static_cast<double>(n)));
}

}  // namespace

TEST_CASE("NLC loss and its gradient against naive double-precision computations", "[unit][lrquant]") {
  at::manual_seed(1);
  const at::Tensor target = at::randn({2, 5, 8}, at::kDouble);
  const at::Tensor out0 = target + 0.7 * at::randn({2, 5, 8}, at::kDouble);
  for (const bool per_token : {false, true}) {
    const auto form = per_token ? ptq::methods::NlcForm::kPerToken : ptq::methods::NlcForm::kReleased;
    INFO(per_token);
    at::Tensor out = out0.clone().requires_grad_(true);
    const at::Tensor loss = ptq::methods::nlc_loss(out, target, form);
    CHECK(loss.item<double>() == Approx(naive_nlc(out0, target, per_token)).epsilon(1e-10));
    loss.backward();
    // Central differences of the naive loss, element by element.
    const double h = 1e-6;
    double max_err = 0;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t t = 0; t < 5; ++t)
        for (int64_t k = 0; k < 8; k += 3) {
          at::Tensor plus = out0.clone(), minus = out0.clone();
          plus[i][t][k] += h;
          minus[i][t][k] -= h;
          const double fd = (naive_nlc(plus, target, per_token) - naive_nlc(minus, target, per_token)) / (2 * h);
          max_err = std::max(max_err, std::abs(fd - out.grad()[i][t][k].item<double>()));
        }
    CHECK(max_err < 1e-6);
  }
  // The two forms differ: the released code takes the log of the mean, not the mean of the logs.
  CHECK(ptq::methods::nlc_loss(out0, target, ptq::methods::NlcForm::kReleased).item<double>() <
        ptq::methods::nlc_loss(out0, target, ptq::methods::NlcForm::kPerToken).item<double>());
  CHECK_THROWS_AS(ptq::methods::nlc_loss(out0, target, ptq::methods::NlcForm::kOff), std::invalid_argument);
  // "off" adds nothing to the MSE; the other forms add their term.
  CHECK(at::equal(ptq::methods::mse_plus_nlc(out0, target, ptq::methods::NlcForm::kOff), at::mse_loss(out0, target)));
  CHECK(ptq::methods::mse_plus_nlc(out0, target, ptq::methods::NlcForm::kPerToken).item<double>() ==
        Approx(at::mse_loss(out0, target).item<double>() + naive_nlc(out0, target, true)).epsilon(1e-10));
}

TEST_CASE("LAE initial scales are act / log2(2 + act), clamped, per K/V channel for GQA", "[unit][lrquant]") {
  at::manual_seed(2);
  const auto c = ptq::test::tiny_config();
  const auto m = ptq::test::random_model(c, 41);
  const at::Tensor x = at::randn({2, 12, c.hidden_size}) * 3;
  const auto act = ptq::methods::linear_input_absmax(m.block(0), c, x, m.rope(12), 1);
  const auto p = ptq::methods::lae_init(m.block(0), c, act, true, true);
  for (int64_t ch = 0; ch < c.hidden_size; ch += 9) {
    const double a = std::max(act.fc1[ch].item<double>(), 1e-5);
    CHECK(p.fc1_scale[ch].item<double>() == Approx(a / std::log2(2 + a)).epsilon(1e-5));
  }
  for (int64_t kv = 0; kv < c.kv_dim(); kv += 5) {
    const int64_t j = kv / c.head_dim, d = kv % c.head_dim;
    const double a = std::max({act.out[(2 * j) * c.head_dim + d].item<double>(), act.out[(2 * j + 1) * c.head_dim + d].item<double>(), 1e-5});
    CHECK(p.out_scale[kv].item<double>() == Approx(a / std::log2(2 + a)).epsilon(1e-5));
  }
  CHECK(at::equal(p.qkv_shift, at::zeros({c.hidden_size})));
}

TEST_CASE("LRQuant end to end: trained shifts, MSE + NLC, and test-time adaptation on a copy", "[unit][lrquant]") {
  at::manual_seed(3);
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 42);
  const at::Tensor calib = at::randint(97, {4, 16}, at::TensorOptions().dtype(at::kLong));
  const auto& meth = ptq::methods::registry().get("lrquant");
  ptq::test::TempDir dir, other_dir;
  const auto run = [&](const nlohmann::json& config, ptq::quant::MethodReport* report, const std::string& work_dir) {
    ptq::LlamaModel m = copy_model(fp);
    ptq::quant::MethodContext ctx;
    ctx.progress = false;
    ctx.calibration = &calib;
    ctx.work_dir = work_dir;
    *report = meth.apply(m, QuantSetting::parse("W4A4"), meth.resolve_config(config), ctx);
    return m;
  };
  ptq::quant::MethodReport with_nlc, without_nlc;
  const auto q = run({{"epochs", 2}, {"tta", true}, {"tta_epochs", 6}, {"tta_let_lr", 1e-2}, {"tta_lwc_lr", 5e-2}}, &with_nlc, dir.path());
  run({{"epochs", 2}, {"nlc", "off"}}, &without_nlc, other_dir.path());
  CHECK(q.config().norm_bias);  // shifts are trained (use_shift = True)
  CHECK(with_nlc.summary["let_options"]["init"] == "lae");
  const double l_nlc = with_nlc.summary["recon"]["blocks"][0]["first_epoch_loss"];
  const double l_mse = without_nlc.summary["recon"]["blocks"][0]["first_epoch_loss"];
  CHECK(l_nlc > l_mse);  // the same first steps plus a positive NLC term
  // The adapter: asked for with the FP model (the pipeline does so before apply).
  const auto setting = QuantSetting::parse("W4A4");
  const auto adapter = meth.evaluation_adapter(
      fp, setting, meth.resolve_config({{"epochs", 2}, {"tta", true}, {"tta_epochs", 6}, {"tta_let_lr", 1e-2}, {"tta_lwc_lr", 5e-2}}));
  REQUIRE(adapter);
  CHECK_FALSE(meth.evaluation_adapter(fp, setting, meth.resolve_config({{"epochs", 2}, {"nlc", "off"}})));

  // The checkpoints and the quantized model, before adaptation.
  const std::string ckpt = dir.file("lrquant/block_1.safetensors");
  const std::string before = ptq::io::read_file(ckpt);
  const at::Tensor w_before = q.block(1).q_proj.weight.clone();
  const at::Tensor windows = at::randint(97, {3, 16}, at::TensorOptions().dtype(at::kLong));
  ptq::quant::EvalAdaptationRequest req;
  req.task = "wikitext2";
  req.calibration_dataset = "wikitext2";
  req.segments = &windows;
  req.progress = false;
  nlohmann::json details;
  CHECK(adapter(q, req, details) == nullptr);  // the calibration dataset: not adapted
  CHECK(details["applied"] == false);
  req.task = "c4";
  const auto adapted = adapter(q, req, details);
  REQUIRE(adapted);
  CHECK(details["applied"] == true);
  CHECK(details["transductive"] == true);
  CHECK(details["mode"] == "paper");
  CHECK(details["activation_quantization_in_block"] == true);
  CHECK(details["last_epoch_loss"].get<double>() < details["first_epoch_loss"].get<double>());
  CHECK_FALSE(at::equal(adapted->block(1).q_proj.weight, q.block(1).q_proj.weight));
  CHECK(at::equal(adapted->block(0).q_proj.weight, q.block(0).q_proj.weight));  // earlier blocks shared
  CHECK(at::equal(q.block(1).q_proj.weight, w_before));                          // the quantized model unchanged
  CHECK(ptq::io::read_file(ckpt) == before);                                      // and its checkpoint on disk
  for (size_t i = 0; i < adapted->num_blocks(); ++i) CHECK(adapted->activation_hook(i) == q.activation_hook(i));
}

TEST_CASE("LRQuant's released TTA adapts on embeddings and leaves the block without activation quantization", "[unit][lrquant]") {
  at::manual_seed(4);
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 43);
  const at::Tensor calib = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  const auto& meth = ptq::methods::registry().get("lrquant");
  ptq::LlamaModel q = copy_model(fp);
  ptq::quant::MethodContext ctx;
  ctx.progress = false;
  ctx.calibration = &calib;
  const nlohmann::json config = meth.resolve_config({{"epochs", 1}, {"tta", true}, {"tta_mode", "released"}, {"tta_epochs", 1}});
  const auto adapter = meth.evaluation_adapter(fp, QuantSetting::parse("W4A4"), config);
  meth.apply(q, QuantSetting::parse("W4A4"), config, ctx);
  const at::Tensor windows = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  ptq::quant::EvalAdaptationRequest req;
  req.task = "c4";
  req.calibration_dataset = "wikitext2";
  req.segments = &windows;
  req.progress = false;
  nlohmann::json details;
  const auto adapted = adapter(q, req, details);
  REQUIRE(adapted);
  CHECK(adapted->activation_hook(0) != nullptr);
  CHECK(adapted->activation_hook(1) == nullptr);  // the adapted block runs in float
  CHECK(details["activation_quantization_in_block"] == false);
  CHECK(q.activation_hook(1) != nullptr);
}

namespace {

// LRQuant (1 epoch) and its TTA adapter on `q`, adapted on `windows` of the C4 task.
std::shared_ptr<ptq::LlamaModel> tta_adapted(const ptq::LlamaModel& fp, ptq::LlamaModel& q, const std::string& setting,
                                             const nlohmann::json& overrides, const at::Tensor& windows, nlohmann::json& details) {
  const at::Tensor calib = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  const auto& meth = ptq::methods::registry().get("lrquant");
  nlohmann::json config = {{"epochs", 1}, {"tta", true}, {"tta_epochs", 1}};
  config.update(overrides);
  config = meth.resolve_config(config);
  const auto adapter = meth.evaluation_adapter(fp, QuantSetting::parse(setting), config);
  ptq::quant::MethodContext ctx;
  ctx.progress = false;
  ctx.calibration = &calib;
  meth.apply(q, QuantSetting::parse(setting), config, ctx);
  ptq::quant::EvalAdaptationRequest req;
  req.task = "c4";
  req.calibration_dataset = "wikitext2";
  req.segments = &windows;
  req.progress = false;
  return adapter(q, req, details);
}

}  // namespace

// Issue #25: TTA ignored the config's lwc, batch_size and nan_policy and ran outside the engine's
// precision policy (weight-only TTA on a half-precision model fed bf16 activations to float weights).
TEST_CASE("LRQuant's TTA honours lwc, batch_size, nan_policy and the precision policy", "[unit][lrquant]") {
  at::manual_seed(8);
  const auto fp32 = ptq::test::random_model(ptq::test::tiny_config(), 44);
  const at::Tensor windows = at::randint(97, {4, 16}, at::TensorOptions().dtype(at::kLong));
  SECTION("a bf16 model on the CPU, weight-only: trained in float32, the adapted block back in bf16") {
    ptq::LlamaModel fp = copy_model(fp32);
    fp.to(at::kCPU, at::kBFloat16);
    try {  // LibTorch 1.13's oneDNN bf16 matmul fails on CPUs without AVX-512 BF16 paths; the policy test covers those
      (void)fp.block_forward(0, fp.embed(windows), fp.rope(16));
    } catch (const std::exception& e) {
      WARN("a bf16 forward does not run on this CPU (" << e.what() << "): section skipped");
      return;
    }
    ptq::LlamaModel q = copy_model(fp);
    nlohmann::json details;
    const auto adapted = tta_adapted(fp, q, "W4A16", {{"batch_size", 2}}, windows, details);
    REQUIRE(adapted);
    CHECK(adapted->block(1).q_proj.weight.scalar_type() == at::kBFloat16);
    CHECK(details["precision"].get<std::string>().find("fp32 block") == 0);
    CHECK(details["batch_size"] == 2);
    CHECK(std::isfinite(details["last_epoch_loss"].get<double>()));
  }
  SECTION("batch_size lowered to a divisor of the window count; lwc off reaches the adapter") {
    ptq::LlamaModel q = copy_model(fp32);
    nlohmann::json details;
    const at::Tensor three = windows.narrow(0, 0, 3);
    REQUIRE(tta_adapted(fp32, q, "W4A4", {{"batch_size", 2}, {"lwc", false}}, three, details));
    CHECK(details["batch_size"] == 1);
    CHECK(details["lwc"] == false);
  }
  SECTION("nan_policy: stop throws, skip-block scores the task unadapted") {
    ptq::LlamaModel bad = copy_model(fp32);
    bad.block(1).up_proj.weight[0][0] = NAN;
    ptq::LlamaModel q = copy_model(fp32);
    nlohmann::json details;
    CHECK(tta_adapted(bad, q, "W4A4", {{"nan_policy", "skip-block"}}, windows, details) == nullptr);
    CHECK(details["applied"] == false);
    CHECK(details["reason"].get<std::string>().find("nan_policy skip-block") == 0);
    ptq::LlamaModel q2 = copy_model(fp32);
    CHECK_THROWS_WITH(tta_adapted(bad, q2, "W4A4", nlohmann::json::object(), windows, details), Contains("(NaN/Inf)"));
  }
}
