// CBQ end to end on a small random model: CFP leaves the FP function unchanged, training lowers each
// window's loss, the result beats RTN's output error on the calibration set, hardened weights lie on
// their integer grid, and every ablation switch runs (window 1, full-rank AdaRound, nearest rounding,
// no CFP), with LoRA-Rounding holding far fewer rounding parameters than AdaRound.
#include "harness/model/llama_model.h"
#include "harness/ptq/quant_setting.h"
#include "methods/cbq/cross_block.h"
#include "methods/register_all.h"
#include "tests/support/apply_method.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <filesystem>

using Catch::Matchers::Contains;
using ptq::quant::QuantSetting;
using ptq::test::copy_model;
using ptq::test::last_hidden;

using ptq::test::apply_method;

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
  using ptq::methods::cbq::Distance;
  // The paper's E: the squared error summed over the hidden dimension per token, like the KL term.
  CHECK(ptq::methods::cbq::homologous_distance(q, fp, 0.5, Distance::kPaper).item<double>() == Approx(mse / 3 + 0.5 * kl / 3).epsilon(1e-5));
  CHECK(ptq::methods::cbq::homologous_distance(q, fp, 0.5, Distance::kMseMean).item<double>() == Approx(mse / 15 + 0.5 * kl / 3).epsilon(1e-5));
}

// A one-block model and CBQ on it with a window of one block and the squared error alone (no KL, no
// homologous branch), so the summary's last epoch loss and the hardened block's error are the same E.
struct OneBlockCbq {
  ptq::LlamaModel fp;
  at::Tensor calib, x, y_fp;
  ptq::RopeTables rope;
  OneBlockCbq(uint64_t model_seed, uint64_t data_seed) : fp(make_model(model_seed)) {
    at::manual_seed(data_seed);
    calib = ptq::test::calibration_ids(4, 32, 97);
    x = fp.embed(calib);
    rope = fp.rope(32);
    y_fp = fp.block_forward(0, x, rope);
  }
  static ptq::LlamaModel make_model(uint64_t seed) {
    ptq::test::TinyShape shape;
    shape.layers = 1;
    return ptq::test::random_model(ptq::test::tiny_config(shape), seed);
  }
  struct Result {
    double hardened_error, last_epoch_loss, near_binary;
  };
  Result run(const std::string& setting, nlohmann::json config) const {
    ptq::LlamaModel q = copy_model(fp);
    config.update({{"kl_weight", 0}, {"homologous_weight", 0}, {"window", 1}, {"overlap", 0}});
    const auto report = apply_method(q, "cbq", setting, config, calib);
    const double hardened = (q.block_forward(0, x, rope) - y_fp).pow(2).sum(-1).mean().item<double>();  // the paper's E
    return {hardened, report.summary["cross_block"]["blocks"][0]["last_epoch_loss"].get<double>(),
            report.summary["rounding_near_binary"].get<double>()};
  }
};

// Issue #25: lambda = 0.01 on the per-element mean never binarised the soft offsets, so hardening was a
// jump training never saw. With AdaRound's lambda * sum (against the per-token squared error) the
// offsets end near {0, 1} and the hardened block's error is close to the soft one's at the end.
TEST_CASE("CBQ's rounding regulariser binarises the offsets, and hardening changes the block output little", "[unit][cbq]") {
  const OneBlockCbq block(65, 5);
  const auto run = [&](const std::string& regularizer) {
    return block.run("W3A16", {{"epochs", 40}, {"rounding_lr", 5e-2}, {"rounding_regularizer", regularizer}, {"rounding_forward", "soft"}});
  };
  const auto sum = run("adaround"), mean = run("mean");
  INFO("adaround: near-binary " << sum.near_binary << ", E soft " << sum.last_epoch_loss << " -> hardened " << sum.hardened_error);
  INFO("mean: near-binary " << mean.near_binary << ", E soft " << mean.last_epoch_loss << " -> hardened " << mean.hardened_error);
  CHECK(sum.near_binary > 0.9);
  CHECK(sum.hardened_error < 1.3 * sum.last_epoch_loss);
  CHECK(mean.near_binary < sum.near_binary);
}

// Issue #25's W2A16 acceptance: the soft forward (AdaRound's) trains on weights that start at the FP ones
// and only reach the grid as the regulariser binarises, so the hardened block is a jump from what training
// optimised. The default forward (straight-through) trains on the hardened offsets themselves: the hardened
// block's error is the error training ended with, and at 2 bits it is lower than the soft forward's.
TEST_CASE("CBQ's default straight-through rounding trains on the hardened weights, and beats the soft forward at W2A16", "[unit][cbq]") {
  const OneBlockCbq block(66, 6);
  const auto ste = block.run("W2A16", {{"epochs", 10}});
  const auto soft = block.run("W2A16", {{"epochs", 10}, {"rounding_forward", "soft"}});
  INFO("default: last training E " << ste.last_epoch_loss << " -> hardened " << ste.hardened_error);
  INFO("soft: last training E " << soft.last_epoch_loss << " -> hardened " << soft.hardened_error);
  CHECK(ste.hardened_error < 1.1 * ste.last_epoch_loss);
  CHECK(ste.hardened_error < soft.hardened_error);
}

TEST_CASE("CBQ: windows train, beat RTN, harden onto the integer grid, ablations run", "[unit][cbq]") {
  at::manual_seed(2);
  ptq::test::TinyShape shape;
  shape.layers = 3;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(shape), 61);
  const at::Tensor calib = at::randint(97, {4, 32}, at::TensorOptions().dtype(at::kLong));
  const at::Tensor ref = last_hidden(fp, calib);
  ptq::LlamaModel rtn = copy_model(fp);
  apply_method(rtn, "rtn", "W2A16", nlohmann::json::object(), calib);
  const double err_rtn = at::mse_loss(last_hidden(rtn, calib), ref).item<double>();

  ptq::LlamaModel q = copy_model(fp);
  const auto report = apply_method(q, "cbq", "W2A16", {{"epochs", 30}, {"step_lr", 2e-2}, {"rounding_lr", 1e-1}}, calib);
  const auto& windows = report.summary["cross_block"]["windows"];
  REQUIRE(windows.size() == 2);  // [0,1], [1,2]
  CHECK(windows[0]["blocks"] == nlohmann::json({0, 1}));
  CHECK(windows[1]["hardened"] == nlohmann::json({1, 2}));
  // (No "last loss below the first" here: the soft weights start at the FP weights, so the first epoch's
  // loss is below any quantized one; the regulariser then drives them onto the grid.)
  CHECK(report.summary["rounding_near_binary"].get<double>() > 0.9);
  const double err_cbq = at::mse_loss(last_hidden(q, calib), ref).item<double>();
  INFO("W2A16 output MSE: RTN " << err_rtn << ", CBQ " << err_cbq);
  CHECK(err_cbq < 0.6 * err_rtn);
  // Hardened weights: weight / scale + zero is an integer in [0, 3] for every row.
  REQUIRE(report.qparams.size() == 3 * 7 * 2);
  const at::Tensor w = q.block(1).up_proj.weight;
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
    const auto r = apply_method(m, "cbq", "W4A4", config, calib);
    CHECK(std::isfinite(at::mse_loss(last_hidden(m, calib), ref).item<double>()));
    if (ablation.contains("rounding") && ablation["rounding"] == "full")
      CHECK(r.summary["cross_block"]["rounding_parameters"].get<int64_t>() > 3 * lora_params);
  }
}

TEST_CASE("CBQ W4A4 learns activation steps, per-window checkpoints resume to the same model", "[unit][cbq]") {
  ptq::test::TinyShape shape;
  shape.layers = 3;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(shape), 62);
  const at::Tensor calib = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  ptq::test::TempDir dir;
  const auto run = [&](nlohmann::json* summary) {
    at::manual_seed(4);  // LoRA-Rounding's A2 init; a fresh process starts from the same default seed
    ptq::LlamaModel m = copy_model(fp);
    const auto r = apply_method(m, "cbq", "W4A4", {{"epochs", 3}}, calib, dir.path());
    *summary = r.summary;
    return m;
  };
  nlohmann::json s1, s2, s3;
  const auto full = run(&s1);
  // S^X: every block carries its four learned clipping logits, moved away from their init.
  CHECK(full.config().act_clip);
  for (size_t i = 0; i < full.num_blocks(); ++i) {
    const at::Tensor clip = ptq::test::saved_act_clip(full, i);
    REQUIRE(clip.defined());
    CHECK(clip.sizes() == at::IntArrayRef{4});
    CHECK((clip - 4.0).abs().max().item<double>() > 1e-4);
  }
  CHECK(s1["activation_steps"].get<std::string>().find("S^X") != std::string::npos);
  CHECK(std::filesystem::exists(dir.file("cbq/window_0.safetensors")));
  CHECK(std::filesystem::exists(dir.file("cbq/window_1.safetensors")));
  // "Killed" during window 1: only window 0's file remains. The rerun replays window 0 and trains window 1.
  std::filesystem::remove(dir.file("cbq/window_1.safetensors"));
  const auto resumed = run(&s2);
  const auto& w2 = s2["cross_block"]["windows"];
  CHECK(w2[0]["resumed"] == true);
  CHECK(w2[1]["resumed"] == false);
  CHECK(w2[0]["last_epoch_loss"] == s1["cross_block"]["windows"][0]["last_epoch_loss"]);
  CHECK(w2[1]["first_epoch_loss"] == s1["cross_block"]["windows"][1]["first_epoch_loss"]);
  // A complete rerun loads everything.
  const auto reloaded = run(&s3);
  CHECK(s3["cross_block"]["windows"][1]["resumed"] == true);
  for (const ptq::LlamaModel* m : {&resumed, &reloaded})
    for (size_t i = 0; i < fp.num_blocks(); ++i) {
      CHECK(at::equal(full.block(i).q_proj.weight, m->block(i).q_proj.weight));
      CHECK(at::equal(full.block(i).down_proj.weight, m->block(i).down_proj.weight));
      CHECK(at::equal(ptq::test::saved_act_clip(full, i), ptq::test::saved_act_clip(*m, i)));
    }
  // Another run's files are refused.
  ptq::LlamaModel other = copy_model(fp);
  CHECK_THROWS_WITH(apply_method(other, "cbq", "W4A4", {{"epochs", 2}}, calib, dir.path()), Contains("a checkpoint of another run"));
}

TEST_CASE("CBQ stops on a NaN loss naming the window, or with skip-block goes on", "[unit][cbq]") {
  ptq::test::TinyShape shape;
  shape.layers = 3;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(shape), 63);
  const at::Tensor calib = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  ptq::LlamaModel bad = copy_model(fp);
  bad.block(2).up_proj.weight[0][0] = NAN;
  CHECK_THROWS_WITH(apply_method(bad, "cbq", "W4A16", {{"epochs", 1}}, calib), Contains("window [1..2] epoch 0 step 0: loss is nan"));
  ptq::LlamaModel skipped = copy_model(bad);
  const auto r = apply_method(skipped, "cbq", "W4A16", {{"epochs", 1}, {"nan_policy", "skip-block"}}, calib);
  const auto& windows = r.summary["cross_block"]["windows"];
  CHECK(windows[0]["skipped"].is_null());
  CHECK(windows[1]["skipped"].get<std::string>().find("window [1..2]") == 0);
  // Window 0 trained (blocks 0 and 1 without NaN); window 1 kept the parameters it came in with.
  CHECK(std::isfinite(skipped.block(0).q_proj.weight.sum().item<double>()));
  CHECK(std::isfinite(skipped.block(1).down_proj.weight.sum().item<double>()));
}

TEST_CASE("CBQ gives the same model whatever the process's random state, and its seed key changes it", "[unit][cbq]") {
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 64);
  at::manual_seed(3);
  const at::Tensor calib = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  const nlohmann::json config = {{"epochs", 2}};
  const auto run = [&](uint64_t global_seed, const nlohmann::json& c) {
    at::manual_seed(global_seed);  // the global generator must not matter (LoRA-Rounding's init has its own)
    ptq::LlamaModel m = copy_model(fp);
    apply_method(m, "cbq", "W4A16", c, calib);
    return m;
  };
  const ptq::LlamaModel a = run(1, config), b = run(12345, config);
  nlohmann::json other = config;
  other["seed"] = 1;
  const ptq::LlamaModel c = run(1, other);
  for (size_t i = 0; i < fp.num_blocks(); ++i) {
    CHECK(at::equal(a.block(i).q_proj.weight, b.block(i).q_proj.weight));
    CHECK(at::equal(a.block(i).down_proj.weight, b.block(i).down_proj.weight));
  }
  bool differs = false;
  for (size_t i = 0; i < fp.num_blocks(); ++i) differs |= !at::equal(a.block(i).q_proj.weight, c.block(i).q_proj.weight);
  CHECK(differs);
}
