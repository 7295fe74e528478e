// Preemption: a stop request (SIGTERM/SIGUSR1 in a worker; request_stop_at_check here, for an exact
// step) saves the unit being trained and stops; the rerun resumes at that step and must give the same
// model bit for bit as a run that was never stopped (parameters, AdamW moments, loop position and epoch
// loss sums all restored).
#include "harness/model/llama_model.h"
#include "harness/recon/train_loop.h"
#include "harness/util/stop_request.h"
#include "tests/support/apply_method.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::apply_method;
using ptq::test::copy_model;
using ptq::test::saved_act_clip;

namespace {

struct StopGuard {  // no test leaves a pending stop behind
  ~StopGuard() { ptq::clear_stop_request(); }
};

void require_same_weights(const ptq::LlamaModel& a, const ptq::LlamaModel& b) {
  for (size_t i = 0; i < a.num_blocks(); ++i) {
    const ptq::DecoderBlock &x = a.block(i), &y = b.block(i);
    INFO("block " << i);
    CHECK(at::equal(x.q_proj.weight, y.q_proj.weight));
    CHECK(at::equal(x.k_proj.weight, y.k_proj.weight));
    CHECK(at::equal(x.v_proj.weight, y.v_proj.weight));
    CHECK(at::equal(x.o_proj.weight, y.o_proj.weight));
    CHECK(at::equal(x.gate_proj.weight, y.gate_proj.weight));
    CHECK(at::equal(x.up_proj.weight, y.up_proj.weight));
    CHECK(at::equal(x.down_proj.weight, y.down_proj.weight));
  }
}

}  // namespace

TEST_CASE("a stop request saves the block being trained, the rerun resumes there and equals an unstopped run",
          "[unit][preemption]") {
  const StopGuard guard;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 71);
  const at::Tensor calib = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  const nlohmann::json config = {{"epochs", 3}, {"shift", "on"}};  // LWC + LET with shifts: all kinds of state
  ptq::test::TempDir clean_dir, dir;
  ptq::LlamaModel clean = copy_model(fp);
  const auto clean_report = apply_method(clean, "omniquant", "W4A4", config, calib, clean_dir.path());

  // 2 blocks x 3 epochs x 2 steps: the 10th step is block 1, epoch 2, its second step (the 11th check:
  // the pipeline checks once before quantizing).
  ptq::request_stop_at_check(11, SIGUSR1);
  ptq::LlamaModel stopped = copy_model(fp);
  CHECK_THROWS_WITH(apply_method(stopped, "omniquant", "W4A4", config, calib, dir.path()),
                    Contains("block 1 epoch 2 step 1: stopped on SIGUSR1; state saved to") &&
                        Contains("partial_block_1.safetensors"));
  ptq::clear_stop_request();
  CHECK(std::filesystem::exists(dir.file("omniquant/block_0.safetensors")));
  CHECK(std::filesystem::exists(dir.file("omniquant/partial_block_1.safetensors")));
  CHECK_FALSE(std::filesystem::exists(dir.file("omniquant/block_1.safetensors")));

  ptq::LlamaModel resumed = copy_model(fp);
  const auto report = apply_method(resumed, "omniquant", "W4A4", config, calib, dir.path());
  CHECK_FALSE(std::filesystem::exists(dir.file("omniquant/partial_block_1.safetensors")));  // done: superseded
  CHECK(std::filesystem::exists(dir.file("omniquant/block_1.safetensors")));
  const auto& b = report.summary["recon"]["blocks"];
  const auto& c = clean_report.summary["recon"]["blocks"];
  CHECK(b[0]["resumed"] == true);
  CHECK(b[1]["resumed"] == false);
  CHECK(b[1]["first_epoch_loss"] == c[1]["first_epoch_loss"]);  // restored from the partial state
  CHECK(b[1]["last_epoch_loss"] == c[1]["last_epoch_loss"]);      // epoch sum continued mid-epoch
  require_same_weights(clean, resumed);
  for (size_t i = 0; i < fp.num_blocks(); ++i) CHECK(at::equal(clean.block(i).o_proj.bias, resumed.block(i).o_proj.bias));
}

TEST_CASE("a stop request inside a CBQ window saves it, the rerun resumes there and equals an unstopped run",
          "[unit][preemption][cbq]") {
  const StopGuard guard;
  ptq::test::TinyShape shape;
  shape.layers = 3;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(shape), 72);
  const at::Tensor calib = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  const nlohmann::json config = {{"epochs", 3}};
  const auto run = [&](const std::string& work_dir, nlohmann::json* summary) {
    at::manual_seed(5);  // LoRA-Rounding's init, as a fresh process would see it
    ptq::LlamaModel m = copy_model(fp);
    const auto r = apply_method(m, "cbq", "W4A4", config, calib, work_dir);
    if (summary) *summary = r.summary;
    return m;
  };
  ptq::test::TempDir clean_dir, dir;
  nlohmann::json s_clean, s_resumed;
  const auto clean = run(clean_dir.path(), &s_clean);
  // Windows [0,1] and [1,2], 3 epochs x 2 steps each: the 10th step is window [1..2], epoch 2, step 1
  // (the 11th check: the pipeline checks once before quantizing).
  ptq::request_stop_at_check(11, SIGTERM);
  CHECK_THROWS_WITH(run(dir.path(), nullptr), Contains("window [1..2] epoch 2 step 1: stopped on SIGTERM"));
  ptq::clear_stop_request();
  CHECK(std::filesystem::exists(dir.file("cbq/window_0.safetensors")));
  CHECK(std::filesystem::exists(dir.file("cbq/partial_window_1_2.safetensors")));
  const auto resumed = run(dir.path(), &s_resumed);
  CHECK_FALSE(std::filesystem::exists(dir.file("cbq/partial_window_1_2.safetensors")));
  CHECK(s_resumed["cross_block"]["windows"][1]["last_epoch_loss"] == s_clean["cross_block"]["windows"][1]["last_epoch_loss"]);
  require_same_weights(clean, resumed);
  for (size_t i = 0; i < fp.num_blocks(); ++i) CHECK(at::equal(saved_act_clip(clean, i), saved_act_clip(resumed, i)));
}

TEST_CASE("without a checkpoint directory a stop request still stops, saying nothing was saved", "[unit][preemption]") {
  const StopGuard guard;
  const auto fp = ptq::test::random_model(ptq::test::tiny_config(), 73);
  const at::Tensor calib = at::randint(97, {2, 16}, at::TensorOptions().dtype(at::kLong));
  ptq::request_stop_at_check(2, SIGTERM);  // the first step (the pipeline's check before quantizing is the first)
  ptq::LlamaModel m = copy_model(fp);
  CHECK_THROWS_WITH(apply_method(m, "omniquant", "W4A16", {{"epochs", 1}}, calib),
                    Contains("block 0 epoch 1 step 0: stopped on SIGTERM; no checkpoint directory"));
  ptq::clear_stop_request();
  CHECK(ptq::stop_signal() == 0);
  CHECK(ptq::recon::partial_checkpoint_path("/w", "window [3..4]") == "/w/partial_window_3_4.safetensors");
}
