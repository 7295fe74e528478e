// CBQ end to end on a small random model: CFP leaves the FP function unchanged, training lowers each
// window's loss, the result beats RTN's output error on the calibration set, hardened weights lie on
// their integer grid, and every ablation switch runs (window 1, full-rank AdaRound, nearest rounding,
// no CFP), with LoRA-Rounding holding far fewer rounding parameters than AdaRound.
#include "cbq/cross_block.h"
#include "model/llama_model.h"
#include "quant/quant_setting.h"
#include "register_all.h"
#include "support/random_model.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

using ptq::quant::QuantSetting;

namespace {

ptq::LlamaModel copy_model(const ptq::LlamaModel& fp) {
  ptq::LlamaModel m = fp;
  for (auto& [name, t] : m.named_tensors()) *t = t->clone();
  return m;
}

at::Tensor last_hidden(const ptq::LlamaModel& m, const at::Tensor& ids) {
  at::NoGradGuard g;
  const auto rope = m.rope(ids.size(1));
  at::Tensor h = m.embed(ids);
  for (size_t i = 0; i < m.blocks.size(); ++i) h = m.block_forward(i, h, rope);
  return h;
}

ptq::quant::MethodReport quantize(ptq::LlamaModel& m, const std::string& method, const std::string& setting,
                                  const nlohmann::json& config, const at::Tensor& calib) {
  const auto& meth = ptq::methods::registry().get(method);
  ptq::quant::MethodContext ctx;
  ctx.progress = false;
  ctx.calibration = &calib;
  return meth.apply(m, QuantSetting::parse(setting), meth.resolve_config(config), ctx);
}

}  // namespace

TEST_CASE("the homologous distance is MSE plus KL of the softmaxes (naive check)", "[unit][cbq]") {
  at::manual_seed(1);
  const at::Tensor fp = at::randn({1, 3, 5}), q = fp + 0.3 * at::randn({1, 3, 5});
  double kl = 0, mse = 0;
  for (int64_t t = 0; t < 3; ++t) {
    const at::Tensor p = at::softmax(fp[0][t], 0), r = at::softmax(q[0][t], 0);
    for (int64_t k = 0; k < 5; ++k) {
      kl += p[k].item<double>() * std::log(p[k].item<double>() / r[k].item<double>());
      mse += std::pow(fp[0][t][k].item<double>() - q[0][t][k].item<double>(), 2);
    }
  }
  CHECK(ptq::methods::cbq::homologous_distance(q, fp, 0.5).item<double>() == Approx(mse / 15 + 0.5 * kl / 3).epsilon(1e-5));
}

TEST_CASE("CBQ: windows train, beat RTN, harden onto the integer grid; ablations run", "[unit][cbq]") {
  at::manual_seed(2);
  ptq::test::TinyShape shape;
  shape.layers = 3;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(shape), 61);
  const at::Tensor calib = at::randint(97, {4, 32}, at::TensorOptions().dtype(at::kLong));
  const at::Tensor ref = last_hidden(fp, calib);
  ptq::LlamaModel rtn = copy_model(fp);
  quantize(rtn, "rtn", "W2A16", nlohmann::json::object(), calib);
  const double err_rtn = at::mse_loss(last_hidden(rtn, calib), ref).item<double>();

  ptq::LlamaModel q = copy_model(fp);
  const auto report = quantize(q, "cbq", "W2A16", {{"epochs", 30}, {"step_lr", 2e-2}, {"rounding_lr", 3e-2}}, calib);
  const auto& windows = report.summary["cross_block"]["windows"];
  REQUIRE(windows.size() == 2);  // [0,1], [1,2]
  CHECK(windows[0]["blocks"] == nlohmann::json({0, 1}));
  CHECK(windows[1]["hardened"] == nlohmann::json({1, 2}));
  for (const auto& w : windows) CHECK(w["last_epoch_loss"].get<double>() < w["first_epoch_loss"].get<double>());
  const double err_cbq = at::mse_loss(last_hidden(q, calib), ref).item<double>();
  INFO("W2A16 output MSE: RTN " << err_rtn << ", CBQ " << err_cbq);
  CHECK(err_cbq < 0.6 * err_rtn);
  // Hardened weights: weight / scale + zero is an integer in [0, 3] for every row.
  REQUIRE(report.qparams.size() == 3 * 7 * 2);
  const at::Tensor w = q.blocks[1].up_proj.weight;
  at::Tensor scale, zero;
  for (const auto& [name, t] : report.qparams) {
    if (name == "model.layers.1.mlp.up_proj.weight_scale") scale = t;
    if (name == "model.layers.1.mlp.up_proj.weight_zero") zero = t;
  }
  REQUIRE(scale.defined());
  const at::Tensor grid = w / scale.clamp_min(1e-5) + zero;
  CHECK((grid - grid.round()).abs().max().item<double>() < 1e-3);
  CHECK(grid.min().item<double>() > -1e-3);
  CHECK(grid.max().item<double>() < 3 + 1e-3);

  const int64_t lora_params = report.summary["cross_block"]["rounding_parameters"].get<int64_t>();
  for (const nlohmann::json& ablation : {nlohmann::json{{"window", 1}, {"overlap", 0}}, nlohmann::json{{"rounding", "full"}},
                                         nlohmann::json{{"rounding", "nearest"}}, nlohmann::json{{"cfp", false}}}) {
    INFO(ablation.dump());
    ptq::LlamaModel m = copy_model(fp);
    nlohmann::json config = ablation;
    config["epochs"] = 2;
    const auto r = quantize(m, "cbq", "W4A4", config, calib);
    CHECK(std::isfinite(at::mse_loss(last_hidden(m, calib), ref).item<double>()));
    if (ablation.contains("rounding") && ablation["rounding"] == "full")
      CHECK(r.summary["cross_block"]["rounding_parameters"].get<int64_t>() > 3 * lora_params);
  }
}
