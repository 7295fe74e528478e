// OmniQuant's LWC on the reconstruction engine: plumbing checked against RTN bit for bit, LWC at its
// initial value against a naive per-row loop, training against its own goal (block-output MSE on the
// calibration set below RTN's), and NaN detection.
#include "harness/model/checkpoint.h"
#include "harness/model/llama_model.h"
#include "harness/ptq/quant_setting.h"
#include "harness/recon/block_recon.h"
#include "harness/util/errors.h"
#include "methods/register_all.h"
#include "tests/support/apply_method.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::quant::QuantSetting;
using ptq::test::calibration_ids;
using ptq::test::copy_model;
using ptq::test::last_hidden;

namespace {

ptq::LlamaModel quantized(const ptq::LlamaModel& fp, const std::string& method, const std::string& setting,
                          const nlohmann::json& config, const at::Tensor& calib) {
  ptq::LlamaModel m = copy_model(fp);
  ptq::test::apply_method(m, method, setting, config, calib);
  return m;
}

}  // namespace

TEST_CASE("omniquant with LWC off and no training is RTN bit for bit", "[unit][omniquant]") {
  at::manual_seed(3);
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 11);
  const at::Tensor calib = calibration_ids(2, 16, 97);
  for (const char* setting : {"W4A16", "W3A16g32", "W4A4"}) {
    INFO(setting);
    const auto rtn = quantized(fp, "rtn", setting, nlohmann::json::object(), calib);
    const auto omni = quantized(fp, "omniquant", setting, {{"lwc", false}, {"epochs", 0}, {"let", "off"}}, calib);
    for (size_t i = 0; i < fp.num_blocks(); ++i)
      CHECK(at::equal(rtn.block(i).down_proj.weight, omni.block(i).down_proj.weight));
    CHECK(at::equal(last_hidden(rtn, calib), last_hidden(omni, calib)));  // activation quantizers too
  }
}

TEST_CASE("LWC at its initial logit 4.0 clips each row to sigmoid(4) of its min and max (naive loop)", "[unit][omniquant]") {
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 12);
  const at::Tensor calib = calibration_ids(1, 8, 97);
  const auto omni = quantized(fp, "omniquant", "W3A16", {{"epochs", 0}}, calib);
  const at::Tensor w = fp.block(1).q_proj.weight.to(at::kDouble);
  const at::Tensor got = omni.block(1).q_proj.weight;
  const double g = 1.0 / (1.0 + std::exp(-4.0));
  double max_err = 0;
  for (int64_t r = 0; r < w.size(0); ++r) {
    double lo = 1e30, hi = -1e30;
    for (int64_t c = 0; c < w.size(1); ++c) {
      lo = std::min(lo, w[r][c].item<double>());
      hi = std::max(hi, w[r][c].item<double>());
    }
    lo *= g;
    hi *= g;
    const double scale = std::min(std::max((hi - lo) / 7.0, 1e-5), 1e4);
    const double zero = std::nearbyint(-lo / scale);
    for (int64_t c = 0; c < w.size(1); ++c) {
      const double q = std::min(std::max(std::nearbyint(w[r][c].item<double>() / scale) + zero, 0.0), 7.0);
      max_err = std::max(max_err, std::abs((q - zero) * scale - got[r][c].item<double>()));
    }
  }
  CHECK(max_err < 1e-6);
}

TEST_CASE("LWC training lowers the block loss and ends below RTN's output error on the calibration set", "[unit][omniquant]") {
  at::manual_seed(5);
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 13);
  const at::Tensor calib = calibration_ids(4, 32, 97);
  ptq::LlamaModel omni = copy_model(fp);
  const auto& meth = ptq::methods::registry().get("omniquant");
  ptq::quant::MethodContext ctx;
  ctx.progress = false;
  ctx.calibration = &calib;
  const auto report = meth.apply(omni, QuantSetting::parse("W2A16"), meth.resolve_config({{"epochs", 30}, {"lwc_lr", 0.05}}), ctx);
  const auto& blocks = report.summary["recon"]["blocks"];
  REQUIRE(blocks.size() == 2);
  for (const auto& b : blocks) CHECK(b["last_epoch_loss"].get<double>() < 0.9 * b["first_epoch_loss"].get<double>());
  CHECK(report.summary["aug_loss"] == true);  // 2-bit weight-only: the scripts' --aug_loss
  CHECK(report.qparams.size() == 2 * 7 * 2);
  const auto rtn = quantized(fp, "rtn", "W2A16", nlohmann::json::object(), calib);
  const at::Tensor ref = last_hidden(fp, calib);
  const double err_rtn = at::mse_loss(last_hidden(rtn, calib), ref).item<double>();
  const double err_omni = at::mse_loss(last_hidden(omni, calib), ref).item<double>();
  INFO("RTN " << err_rtn << ", OmniQuant " << err_omni);
  CHECK(err_omni < 0.9 * err_rtn);
}

TEST_CASE("omniquant refuses bad configs and stops on a NaN loss", "[unit][omniquant]") {
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 14);
  const at::Tensor calib = calibration_ids(2, 16, 97);
  CHECK_THROWS_WITH(ptq::methods::registry().get("omniquant").resolve_config({{"alpha", 1.5}}), Contains("alpha 1.5"));
  CHECK_THROWS_WITH(ptq::methods::registry().get("omniquant").resolve_config({{"qk_scale", "after_rope"}}),
                    Contains("qk_scale"));
  CHECK_THROWS_WITH(quantized(fp, "omniquant", "W4A4", {{"epochs", 0}}, at::Tensor()), Contains("for LET's initial scales"));
  ptq::LlamaModel bad = copy_model(fp);
  bad.block(1).up_proj.weight.fill_(NAN);
  CHECK_THROWS_WITH(quantized(bad, "omniquant", "W4A16", {{"epochs", 1}}, calib), Contains("block 1 epoch 0 step 0: loss is nan"));
  // nan_policy skip-block: block 1 keeps RTN, block 0 is trained as without the NaN, the report says so.
  ptq::LlamaModel skipped = copy_model(bad);
  const auto& meth = ptq::methods::registry().get("omniquant");
  ptq::quant::MethodContext ctx;
  ctx.progress = false;
  ctx.calibration = &calib;
  const auto report = meth.apply(skipped, QuantSetting::parse("W4A16"), meth.resolve_config({{"epochs", 1}, {"nan_policy", "skip-block"}}), ctx);
  CHECK(report.summary["blocks_kept_rtn_after_nan"] == nlohmann::json::array({1}));
  CHECK(report.summary["recon"]["blocks"][1]["skipped"].get<std::string>().find("block 1 epoch 0 step 0") == 0);
  const auto clean = quantized(fp, "omniquant", "W4A16", {{"epochs", 1}}, calib);
  CHECK(at::equal(skipped.block(0).q_proj.weight, clean.block(0).q_proj.weight));
  const auto rtn = quantized(fp, "rtn", "W4A16", nlohmann::json::object(), calib);
  CHECK(at::equal(skipped.block(1).q_proj.weight, rtn.block(1).q_proj.weight));  // untouched by the NaN: RTN
  CHECK_THROWS_WITH(ptq::methods::registry().get("omniquant").resolve_config({{"epoch", 3}}), Contains("did you mean \"epochs\""));
}

TEST_CASE("per-block checkpoints: a resumed run equals the uninterrupted one, another run's files are refused",
          "[unit][omniquant]") {
  at::manual_seed(9);
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 15);
  const at::Tensor calib = calibration_ids(2, 16, 97);
  ptq::test::TempDir dir;
  const auto run = [&](const std::string& setting, nlohmann::json* summary) {
    ptq::LlamaModel m = copy_model(fp);
    const auto& meth = ptq::methods::registry().get("omniquant");
    ptq::quant::MethodContext ctx;
    ctx.progress = false;
    ctx.calibration = &calib;
    ctx.work_dir = dir.path();
    const auto r = meth.apply(m, QuantSetting::parse(setting), meth.resolve_config({{"epochs", 3}, {"shift", "on"}}), ctx);
    if (summary) *summary = r.summary;
    return m;
  };
  nlohmann::json s1, s2, s3;
  const auto full = run("W4A4", &s1);  // LWC + LET with trained shifts: every kind of learned state
  CHECK(std::filesystem::exists(dir.file("omniquant/block_0.safetensors")));
  CHECK(std::filesystem::exists(dir.file("omniquant/block_1.safetensors")));
  CHECK(s1["recon"]["blocks"][1]["resumed"] == false);
  // "Killed" after block 0: block 1's checkpoint never written. The resumed run loads block 0, trains block 1.
  std::filesystem::remove(dir.file("omniquant/block_1.safetensors"));
  const auto resumed = run("W4A4", &s2);
  CHECK(s2["recon"]["blocks"][0]["resumed"] == true);
  CHECK(s2["recon"]["blocks"][1]["resumed"] == false);
  for (size_t i = 0; i < fp.num_blocks(); ++i) {
    CHECK(at::equal(full.block(i).q_proj.weight, resumed.block(i).q_proj.weight));
    CHECK(at::equal(full.block(i).down_proj.weight, resumed.block(i).down_proj.weight));
    CHECK(at::equal(full.block(i).input_layernorm_bias, resumed.block(i).input_layernorm_bias));
    CHECK(at::equal(full.block(i).o_proj.bias, resumed.block(i).o_proj.bias));
  }
  CHECK(full.config().norm_bias);  // trained shifts became norm biases, declared for the checkpoint
  const auto all_loaded = run("W4A4", &s3);
  CHECK(s3["recon"]["blocks"][1]["resumed"] == true);
  CHECK(s3["recon"]["blocks"][1]["last_epoch_loss"] == s1["recon"]["blocks"][1]["last_epoch_loss"]);
  CHECK(at::equal(full.block(1).up_proj.weight, all_loaded.block(1).up_proj.weight));
  CHECK_THROWS_WITH(run("W2A16", nullptr), Contains("a checkpoint of another run"));
}

// A block whose FP function is unchanged but whose norm outputs carry planted outlier channels
// (norm gain x f, the following columns / f): per-token 4-bit activation quantization suffers. The
// known optimum of LET's first and fourth pairs is s = f. From identity scales, training must recover
// most of the gap between the planted block and the original one under the same W4A4 quantization;
// the SmoothQuant initialisation alone must already close most of it.
TEST_CASE("LET recovers a planted channel scaling under W4A4", "[unit][omniquant][let]") {
  at::manual_seed(12);
  ptq::test::TinyShape shape;
  shape.layers = 1;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(shape), 16);
  const at::Tensor calib = calibration_ids(8, 32, 97);
  at::Tensor f = at::ones({fp.config().hidden_size});
  for (int64_t ch : {3, 17, 40, 58}) f[ch] = 6.0;
  ptq::LlamaModel planted = copy_model(fp);
  auto& b = planted.block_in_place(0);
  b.input_layernorm = b.input_layernorm * f;
  b.post_attention_layernorm = b.post_attention_layernorm * f;
  for (ptq::Linear* l : {&b.q_proj, &b.k_proj, &b.v_proj, &b.gate_proj, &b.up_proj}) l->weight = l->weight / f.unsqueeze(0);
  const at::Tensor ref = last_hidden(fp, calib);
  REQUIRE(at::allclose(last_hidden(planted, calib), ref, 1e-4, 1e-4));  // the same FP function

  const auto error = [&](const ptq::LlamaModel& m) { return at::mse_loss(last_hidden(m, calib), ref).item<double>(); };
  const nlohmann::json rtn_like = {{"epochs", 0}, {"lwc", false}, {"let", "off"}};
  const double original = error(quantized(fp, "omniquant", "W4A4", rtn_like, calib));
  const double planted_rtn = error(quantized(planted, "omniquant", "W4A4", rtn_like, calib));
  const double planted_smooth = error(quantized(planted, "omniquant", "W4A4", {{"epochs", 0}, {"lwc", false}}, calib));
  const nlohmann::json trained = {{"epochs", 20}, {"lwc", false}, {"let_init", "identity"}, {"let_lr", 5e-2}};
  const double planted_let = error(quantized(planted, "omniquant", "W4A4", trained, calib));
  INFO("W4A4 block-output MSE: original block " << original << ", planted block RTN " << planted_rtn
                                                << ", SmoothQuant init " << planted_smooth << ", LET trained from 1 "
                                                << planted_let);
  REQUIRE(planted_rtn > 3 * original);                                    // the planted outliers hurt
  CHECK(planted_rtn - planted_smooth > 0.8 * (planted_rtn - original));  // the initialisation sees them
  CHECK(planted_rtn - planted_let > 0.8 * (planted_rtn - original));     // training finds them
}

TEST_CASE("LET shifts become biases that a saved checkpoint declares and loads back", "[unit][omniquant][let]") {
  at::manual_seed(13);
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 17);
  const at::Tensor calib = calibration_ids(2, 16, 97);
  ptq::LlamaModel q = quantized(fp, "omniquant", "W6A6", {{"epochs", 2}, {"shift", "on"}}, calib);
  CHECK(q.config().norm_bias);
  CHECK(q.config().attention_bias);
  CHECK(q.config().mlp_bias);
  CHECK(at::equal(q.block(0).down_proj.bias, at::zeros({fp.config().hidden_size})));  // zeros, for HF's mlp_bias layout
  ptq::test::TempDir dir;
  ptq::save_llama(q, dir.path(), at::kFloat);
  ptq::LlamaModel back = ptq::load_llama(dir.path());
  ptq::quant::apply_activation_quant(back, ptq::quant::QuantSetting::parse("W6A6"));
  CHECK(at::equal(last_hidden(back, calib), last_hidden(q, calib)));
  // Without shifts (the released default for LLaMA) nothing gains a bias.
  const ptq::LlamaModel plain = quantized(fp, "omniquant", "W6A6", {{"epochs", 1}}, calib);
  CHECK_FALSE(plain.config().norm_bias);
  CHECK_FALSE(plain.config().attention_bias);
  CHECK_FALSE(plain.block(1).q_proj.bias.defined());
}
