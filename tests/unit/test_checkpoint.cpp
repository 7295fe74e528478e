// Loading and saving HF checkpoint directories, and the by-name report of what does not match.
#include "harness/io/safetensors.h"
#include "harness/model/checkpoint.h"
#include "harness/ptq/quant_setting.h"
#include "harness/ptq/quantized_checkpoint.h"
#include "harness/quant/act_quant.h"
#include "harness/util/errors.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

using Catch::Matchers::Contains;
using ptq::test::TempDir;

namespace {

// Rewrites model.safetensors of `dir` through `edit`, keeping config.json.
void edit_tensors(const std::string& dir, const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
  ptq::io::SafetensorsFile f(dir + "/model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& t : f.tensors()) tensors.emplace_back(t.name, f.load(t.name));
  edit(tensors);
  ptq::io::write_safetensors(dir + "/model.safetensors.new", tensors);
  std::rename((dir + "/model.safetensors.new").c_str(), (dir + "/model.safetensors").c_str());
}

std::string load_error(const std::string& dir) {
  try {
    ptq::load_llama(dir);
  } catch (const ptq::InputError& e) {
    return e.what();
  }
  return "loaded";
}

}  // namespace

TEST_CASE("save then load reproduces the logits", "[unit][checkpoint]") {
  for (const bool tied : {false, true}) {
    TempDir dir;
    ptq::test::TinyShape s;
    s.tied = tied;
    auto written = ptq::test::write_random_checkpoint(dir.path(), ptq::test::tiny_config(s), 11);
    const auto loaded = ptq::load_llama(dir.path());
    CHECK(loaded.config().tie_word_embeddings == tied);
    CHECK(loaded.lm_head.is_same(loaded.embed_tokens) == tied);
    const at::Tensor ids = at::randint(0, 97, {1, 9}, at::kLong);
    CHECK(loaded.forward(ids).equal(written.forward(ids)));
    ptq::io::SafetensorsFile f(dir.file("model.safetensors"));
    CHECK((f.find("lm_head.weight") != nullptr) == !tied);
  }
}

TEST_CASE("learned activation clipping is saved with the blocks and loaded back into their hooks", "[unit][checkpoint]") {
  TempDir dir;
  auto m = ptq::test::random_model(ptq::test::tiny_config(), 5);
  const auto setting = ptq::quant::QuantSetting::parse("W16A4");
  ptq::quant::apply_activation_quant(m, setting);
  const at::Tensor ids = at::randint(0, 97, {1, 9}, at::kLong);
  const at::Tensor unclipped = m.forward(ids);
  // A checkpoint holds clipping for every block or none: block 0's clips nothing.
  const at::Tensor logits = at::tensor({0.5f, 1.0f, 2.0f, -1.0f});
  m.set_activation_hook(0, ptq::quant::with_clipping(m.activation_hook(0), at::full({4}, ptq::quant::kNoActClipLogit)));
  m.set_activation_hook(1, ptq::quant::with_clipping(m.activation_hook(1), logits));
  m.sync_bias_layout();
  CHECK(m.config().act_clip);
  const at::Tensor clipped = m.forward(ids);
  CHECK(!clipped.equal(unclipped));  // the clipping is used
  ptq::save_llama(m, dir.path(), at::kFloat);
  ptq::io::SafetensorsFile f(dir.file("model.safetensors"));
  REQUIRE(f.find("model.layers.1.ptqbench_act_clip") != nullptr);
  auto loaded = ptq::load_llama(dir.path());
  CHECK(loaded.config().act_clip);
  CHECK_FALSE(loaded.quantizes_activations());  // the model alone holds no activation quantizers
  ptq::quant::apply_checkpoint_activation_quant(loaded, setting, dir.path());
  REQUIRE(ptq::test::saved_act_clip(loaded, 1).defined());
  CHECK(ptq::test::saved_act_clip(loaded, 1).equal(logits));
  CHECK(loaded.forward(ids).equal(clipped));
  // Without activation quantization the logits change nothing.
  loaded.set_activation_hooks(nullptr);
  m.set_activation_hooks(nullptr);
  CHECK(loaded.forward(ids).equal(m.forward(ids)));
}

TEST_CASE("a model whose blocks save clipping unevenly is not written", "[unit][checkpoint]") {
  TempDir dir;
  auto m = ptq::test::random_model(ptq::test::tiny_config(), 5);
  ptq::quant::apply_activation_quant(m, ptq::quant::QuantSetting::parse("W16A4"));
  m.set_activation_hook(1, ptq::quant::with_clipping(m.activation_hook(1), at::zeros({4})));
  CHECK_THROWS_AS(ptq::save_llama(m, dir.file("out"), at::kFloat), std::logic_error);
  CHECK_FALSE(std::filesystem::exists(dir.file("out/config.json")));
}

TEST_CASE("fp16 storage loads into fp32 compute", "[unit][checkpoint]") {
  TempDir dir;
  auto m = ptq::test::random_model(ptq::test::tiny_config(), 2);
  ptq::save_llama(m, dir.path(), at::kHalf);
  ptq::io::SafetensorsFile f(dir.file("model.safetensors"));
  CHECK(f.find("model.norm.weight")->dtype == "F16");
  const auto loaded = ptq::load_llama(dir.path());
  CHECK(loaded.dtype() == at::kFloat);
  CHECK(loaded.norm.equal(m.norm.to(at::kHalf).to(at::kFloat)));
}

TEST_CASE("mismatches are reported by tensor name", "[unit][checkpoint]") {
  TempDir dir;
  ptq::test::write_random_checkpoint(dir.path(), ptq::test::tiny_config(), 4);

  SECTION("missing tensor") {
    edit_tensors(dir.path(), [](auto& t) {
      t.erase(std::remove_if(t.begin(), t.end(), [](auto& p) { return p.first == "model.layers.1.mlp.up_proj.weight"; }), t.end());
    });
    CHECK_THAT(load_error(dir.path()), Contains("1 missing tensor(s): model.layers.1.mlp.up_proj.weight"));
  }
  SECTION("mis-shaped tensor") {
    edit_tensors(dir.path(), [](auto& t) {
      for (auto& [name, v] : t)
        if (name == "model.layers.0.self_attn.k_proj.weight") v = at::zeros({64, 64});
    });
    CHECK_THAT(load_error(dir.path()),
               Contains("model.layers.0.self_attn.k_proj.weight: [64, 64] in file, expected [32, 64]"));
  }
  SECTION("unexpected tensor") {
    edit_tensors(dir.path(), [](auto& t) { t.emplace_back("model.layers.0.self_attn.q_proj.bias", at::zeros({64})); });
    CHECK_THAT(load_error(dir.path()), Contains("1 unexpected tensor(s): model.layers.0.self_attn.q_proj.bias"));
  }
  SECTION("rotary inv_freq buffers of old conversions are ignored") {
    edit_tensors(dir.path(), [](auto& t) { t.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", at::zeros({8})); });
    const auto store = ptq::io::TensorStore::open_dir(dir.path());
    const auto check = ptq::check_checkpoint(store, ptq::LlamaConfig::from_file(dir.file("config.json")));
    CHECK(check.ok());
    CHECK(check.ignored == std::vector<std::string>{"model.layers.0.self_attn.rotary_emb.inv_freq"});
    CHECK_NOTHROW(ptq::load_llama(dir.path()));
  }
  SECTION("a config that disagrees with the weights (wrong KV head count)") {
    auto j = ptq::test::tiny_config().to_json();
    j["num_key_value_heads"] = 4;
    ptq::test::write_text(dir.file("config.json"), j.dump());
    CHECK_THAT(load_error(dir.path()),
               Contains("model.layers.0.self_attn.k_proj.weight: [32, 64] in file, expected [64, 64]"));
  }
}
