// Streaming (model/block_storage.h): a model whose blocks rest in the mmap'd checkpoint and in spill files
// must compute exactly what the resident model computes - forward, perplexity, log-likelihoods, every
// method, the saved checkpoint - while holding no block between uses.
#include "evaluators/perplexity/perplexity.h"
#include "evaluators/zeroshot/loglikelihood.h"
#include "harness/io/safetensors.h"
#include "harness/model/activation_home.h"
#include "harness/model/block_storage.h"
#include "harness/model/checkpoint.h"
#include "harness/model/llama_model.h"
#include "harness/model/streaming_choice.h"
#include "harness/util/errors.h"
#include "tests/support/apply_method.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>

#include <filesystem>

using ptq::test::apply_method;
using ptq::test::calibration_ids;
using ptq::test::last_hidden;
using ptq::test::TempDir;

namespace {

ptq::LoadOptions streamed(const std::string& spill_dir) {
  ptq::LoadOptions o;
  o.stream = true;
  o.spill_dir = spill_dir;
  return o;
}

// Every block of `a` and `b`, as block(i) gives it: the same tensor names and exactly the same values.
void require_same_blocks(const ptq::LlamaModel& a, const ptq::LlamaModel& b) {
  REQUIRE(a.num_blocks() == b.num_blocks());
  for (size_t i = 0; i < a.num_blocks(); ++i) {
    ptq::DecoderBlock x = a.block(i), y = b.block(i);
    const auto tx = x.named_tensors(), ty = y.named_tensors();
    REQUIRE(tx.size() == ty.size());
    for (size_t k = 0; k < tx.size(); ++k) {
      INFO("block " << i << " " << tx[k].first);
      REQUIRE(tx[k].first == ty[k].first);
      CHECK(at::equal(*tx[k].second, *ty[k].second));
    }
  }
}

// A three-block random checkpoint in `dir` (two blocks would not show a block read ahead behind another).
void write_three_block_checkpoint(const TempDir& dir, uint64_t seed) {
  ptq::test::TinyShape shape;
  shape.layers = 3;
  ptq::test::write_random_checkpoint(dir.path(), ptq::test::tiny_config(shape), seed);
}

}  // namespace

TEST_CASE("a streamed model holds no block, reads each from the checkpoint and computes what the resident one does",
          "[unit][streaming]") {
  TempDir dir;
  write_three_block_checkpoint(dir, 5);
  const ptq::LlamaModel resident = ptq::load_llama(dir.path());
  const ptq::LlamaModel lazy = ptq::load_llama(dir.path(), streamed(dir.file("spill")));
  REQUIRE(lazy.streamed());
  REQUIRE_FALSE(resident.streamed());
  for (size_t i = 0; i < lazy.num_blocks(); ++i) {
    CHECK_FALSE(lazy.block_in_memory(i));
    CHECK(lazy.storage()->where(i) == "checkpoint (model.layers." + std::to_string(i) + ".*)");
  }
  require_same_blocks(resident, lazy);
  const at::Tensor ids = calibration_ids(2, 12, 97);
  CHECK(at::equal(resident.forward(ids), lazy.forward(ids)));

  // Perplexity runs block by block over all segments when streamed: the same segment losses, exactly.
  const at::Tensor stream_ids = calibration_ids(1, 16 * 5 + 3, 97).view({-1});
  ptq::eval::PplOptions po;
  po.seqlen = 16;
  po.batch_size = 2;
  po.progress = false;
  const auto r1 = ptq::eval::evaluate_perplexity(resident, stream_ids, po);
  const auto r2 = ptq::eval::evaluate_perplexity(lazy, stream_ids, po);
  CHECK(r1.segment_loss == r2.segment_loss);
  CHECK(r1.ppl == r2.ppl);

  // Log-likelihoods: groups of batches go through each block together; results as batch by batch.
  std::vector<ptq::eval::EncodedRequest> reqs;
  for (int k = 0; k < 7; ++k) {
    const at::Tensor c = calibration_ids(1, 3 + 2 * k, 97).view({-1}), t = calibration_ids(1, 1 + k % 3, 97).view({-1});
    reqs.push_back({std::vector<int32_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()),
                    std::vector<int32_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel())});
  }
  ptq::eval::ScoreOptions so;
  so.batch_size = 2;
  so.progress = false;
  so.stream_group_bytes = 2 * 2 * 20 * 64 * 4;  // about two batches per group
  const auto l1 = ptq::eval::score_loglikelihood(resident, reqs, so);
  const auto l2 = ptq::eval::score_loglikelihood(lazy, reqs, so);
  for (size_t k = 0; k < reqs.size(); ++k) {
    CHECK(l1[k].ll == l2[k].ll);
    CHECK(l1[k].greedy == l2[k].greedy);
  }
}

TEST_CASE("RTN on a streamed model spills each block once, equals RTN resident, and saves the same file byte for byte",
          "[unit][streaming]") {
  TempDir dir;
  ptq::test::write_random_checkpoint(dir.path(), ptq::test::tiny_config(), 6);
  ptq::LlamaModel resident = ptq::load_llama(dir.path());
  ptq::LlamaModel lazy = ptq::load_llama(dir.path(), streamed(dir.file("spill")));
  apply_method(resident, "rtn", "W3A8g16", nlohmann::json::object(), at::Tensor());
  apply_method(lazy, "rtn", "W3A8g16", nlohmann::json::object(), at::Tensor());
  for (size_t i = 0; i < lazy.num_blocks(); ++i) {
    const std::string spill = dir.file("spill/block_" + std::to_string(i) + ".safetensors");
    CHECK(lazy.storage()->where(i) == spill);
    CHECK(std::filesystem::exists(spill));
    CHECK_FALSE(lazy.block_in_memory(i));
  }
  require_same_blocks(resident, lazy);
  const at::Tensor ids = calibration_ids(2, 10, 97);
  CHECK(at::equal(last_hidden(resident, ids), last_hidden(lazy, ids)));  // activation quantizers on both
  ptq::save_llama(resident, dir.file("out_resident"), at::kHalf);
  ptq::save_llama(lazy, dir.file("out_streamed"), at::kHalf);  // one block at a time
  CHECK(ptq::test::read_text(dir.file("out_resident/model.safetensors")) == ptq::test::read_text(dir.file("out_streamed/model.safetensors")));
  CHECK(ptq::test::read_text(dir.file("out_resident/config.json")) == ptq::test::read_text(dir.file("out_streamed/config.json")));

  // Without a spill directory changed blocks rest in host memory, with the same result.
  ptq::LlamaModel in_memory = ptq::load_llama(dir.path(), streamed(""));
  apply_method(in_memory, "rtn", "W3A8g16", nlohmann::json::object(), at::Tensor());
  CHECK(in_memory.storage()->where(0) == "host memory");
  require_same_blocks(resident, in_memory);
}

TEST_CASE("OmniQuant W4A4 (LWC + LET, trained), CBQ, GPTQ and AWQ give the same model streamed and resident",
          "[unit][streaming]") {
  TempDir dir;
  write_three_block_checkpoint(dir, 7);
  at::manual_seed(1);
  const at::Tensor calib = calibration_ids(4, 16, 97);
  struct Case {
    const char* method;
    const char* setting;
    nlohmann::json config;
  };
  const Case cases[] = {{"omniquant", "W4A4", {{"epochs", 2}, {"batch_size", 2}}},
                        {"cbq", "W2A16", {{"epochs", 2}, {"batch_size", 2}, {"window", 2}, {"overlap", 1}}},
                        {"gptq", "W3A16g16", nlohmann::json::object()},
                        {"awq", "W3A16g16", nlohmann::json::object()}};
  for (const auto& c : cases) {
    INFO(c.method);
    ptq::LlamaModel resident = ptq::load_llama(dir.path());
    ptq::LlamaModel lazy = ptq::load_llama(dir.path(), streamed(dir.file(std::string("spill_") + c.method)));
    at::manual_seed(2);
    apply_method(resident, c.method, c.setting, c.config, calib);
    at::manual_seed(2);
    apply_method(lazy, c.method, c.setting, c.config, calib);
    CHECK(resident.config().to_json() == lazy.config().to_json());  // the same bias / act_clip layout
    require_same_blocks(resident, lazy);
    const at::Tensor ids = calibration_ids(2, 12, 97);
    CHECK(at::equal(last_hidden(resident, ids), last_hidden(lazy, ids)));
  }
}

TEST_CASE("copies of a streamed model share resting blocks until one of them stores a block", "[unit][streaming]") {
  TempDir dir;
  ptq::test::write_random_checkpoint(dir.path(), ptq::test::tiny_config(), 8);
  ptq::LlamaModel a = ptq::load_llama(dir.path(), streamed(""));
  const ptq::LlamaModel before = a;
  const at::Tensor original = a.block(1).down_proj.weight.clone();
  ptq::DecoderBlock b = a.block(1);
  b.down_proj.weight = b.down_proj.weight * 2;
  a.set_block(1, b);
  CHECK(at::equal(a.block(1).down_proj.weight, original * 2));
  CHECK(at::equal(before.block(1).down_proj.weight, original));  // the copy still reads the checkpoint
  CHECK(before.storage()->where(1) != a.storage()->where(1));
}

TEST_CASE("streaming choices: auto against free memory, activations leave the device only on CUDA", "[unit][streaming]") {
  using ptq::decide_streaming;
  CHECK(decide_streaming("on", 0, 100).stream);
  CHECK_FALSE(decide_streaming("off", 1000, 1).stream);
  CHECK_FALSE(decide_streaming("auto", 50, 100).stream);
  CHECK(decide_streaming("auto", 51, 100).stream);
  CHECK_THAT(decide_streaming("auto", 51, 100).reason, Catch::Matchers::Contains("half of the"));
  CHECK_THROWS_AS(decide_streaming("yes", 1, 1), ptq::InputError);

  using ptq::ActivationHome;
  using ptq::choose_activation_home;
  const c10::Device cuda(c10::kCUDA, 0), cpu(c10::kCPU);
  CHECK(choose_activation_home("auto", cuda, 40, 100) == ActivationHome::kDevice);
  CHECK(choose_activation_home("auto", cuda, 51, 100) == ActivationHome::kHost);
  CHECK(choose_activation_home("device", cuda, 1000, 100) == ActivationHome::kDevice);
  CHECK(choose_activation_home("host", cuda, 1, 100) == ActivationHome::kHost);
  CHECK(choose_activation_home("host", cpu, 1, 100) == ActivationHome::kDevice);  // the same memory on the CPU
  CHECK_THROWS_AS(choose_activation_home("gpu", cpu, 1, 1), ptq::InputError);
}

TEST_CASE("a lazily written safetensors file whose producer breaks its promise is not left behind", "[unit][streaming]") {
  TempDir dir;
  const std::string path = dir.file("x.safetensors");
  std::vector<ptq::io::LazyTensor> ts;
  ts.push_back({"a", at::kFloat, {2, 3}, [] { return at::ones({2, 3}); }});
  ts.push_back({"b", at::kFloat, {4}, [] { return at::ones({5}); }});  // announced [4], produces [5]
  CHECK_THROWS_WITH(ptq::io::write_safetensors_lazy(path, ts), Catch::Matchers::Contains("'b' was announced as F32 [4]"));
  CHECK_FALSE(std::filesystem::exists(path));
  ts[1].produce = [] { return at::full({4}, 2.0); };
  ptq::io::write_safetensors_lazy(path, ts);
  const ptq::io::SafetensorsFile f(path);
  CHECK(at::equal(f.load("b"), at::full({4}, 2.0)));
  CHECK(at::equal(f.load("a"), at::ones({2, 3})));
}

TEST_CASE("a block that cannot be read fails the pass with its name, also when read ahead on another thread",
          "[unit][streaming]") {
  TempDir dir;
  write_three_block_checkpoint(dir, 10);
  ptq::LlamaModel m = ptq::load_llama(dir.path(), streamed(""));
  ptq::DecoderBlock broken = m.block(2);
  broken.down_proj.weight = at::Tensor();
  m.set_block(2, broken);  // rests in host memory without its down_proj
  const at::Tensor ids = calibration_ids(1, 8, 97);
  const auto rope = m.rope(8);
  CHECK_THROWS_WITH(m.forward_blocks(m.embed(ids), rope, 0, 3, 1),
                    Catch::Matchers::Contains("block 2 resting in host memory has no mlp.down_proj"));
  CHECK_NOTHROW(m.forward_blocks(m.embed(ids), rope, 0, 2, 1));  // blocks 0 and 1 are fine
}
