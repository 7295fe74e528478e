// Architecture variants (harness/model/llama_config.h): llama with Llama-3.x RoPE scaling and tied
// embeddings, mistral, qwen2 and qwen3, each a tiny random-weight checkpoint written here as transformers
// writes one (config.json with the keys of that type's config class, model.safetensors under the HF
// tensor names, no lm_head when tied), read by the normal loader (resident and streamed), its logits
// against the independent naive reference (tests/support/naive_llama.h); every method that claims a
// variant run end to end on it and evaluated; LET's biases and q/k norms; saved checkpoints keeping
// their model_type; and the refusals (one line naming the model type and the method).
#include "evaluators/perplexity/perplexity.h"
#include "harness/io/safetensors.h"
#include "harness/model/checkpoint.h"
#include "harness/model/llama_model.h"
#include "harness/pipeline/quantize.h"
#include "harness/util/errors.h"
#include "methods/omniquant/let.h"
#include "methods/register_all.h"
#include "tests/support/apply_method.h"
#include "tests/support/naive_llama.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// config.json of each variant, with the keys transformers writes for its class (values of a tiny model:
// hidden 64, 4 heads, 2 K/V heads, 2 layers, vocabulary 97).
json variant_config(const std::string& variant) {
  if (variant == "llama3")  // Llama 3.x: llama3 RoPE scaling (a short original context, so that all three
                            // frequency bands occur at head_dim 16), tied embeddings, an eos list
    return json::parse(R"({"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
      "bos_token_id": 1, "eos_token_id": [2, 3], "head_dim": 16, "hidden_act": "silu", "hidden_size": 64,
      "initializer_range": 0.02, "intermediate_size": 96, "max_position_embeddings": 128, "mlp_bias": false,
      "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
      "pretraining_tp": 1, "rms_norm_eps": 1e-05,
      "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                       "original_max_position_embeddings": 256, "rope_type": "llama3"},
      "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "float32",
      "transformers_version": "4.45.0", "use_cache": true, "vocab_size": 97})");
  if (variant == "mistral")  // a sliding window of 32 tokens: the tests' sequences stay within it
    return json::parse(R"({"architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1,
      "eos_token_id": 2, "head_dim": null, "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02,
      "intermediate_size": 96, "max_position_embeddings": 128, "model_type": "mistral", "num_attention_heads": 4,
      "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0,
      "sliding_window": 32, "tie_word_embeddings": false, "torch_dtype": "float32", "transformers_version": "4.46.0",
      "use_cache": true, "vocab_size": 97})");
  if (variant == "qwen2")  // Qwen2.5-0.5B's layout: q/k/v biases, tied, a declared but unused window
    return json::parse(R"({"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 95,
      "eos_token_id": 96, "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 96,
      "max_position_embeddings": 128, "max_window_layers": 1, "model_type": "qwen2", "num_attention_heads": 4,
      "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
      "sliding_window": 16, "tie_word_embeddings": true, "torch_dtype": "float32", "transformers_version": "4.43.1",
      "use_cache": true, "use_mrope": false, "use_sliding_window": false, "vocab_size": 97})");
  if (variant == "qwen3")  // Qwen3-0.6B's layout: head_dim 24 != 64 / 4, q/k norms, an integer rope_theta
    return json::parse(R"({"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
      "bos_token_id": 95, "eos_token_id": 96, "head_dim": 24, "hidden_act": "silu", "hidden_size": 64,
      "initializer_range": 0.02, "intermediate_size": 96, "max_position_embeddings": 128, "max_window_layers": 2,
      "model_type": "qwen3", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2,
      "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
      "tie_word_embeddings": true, "torch_dtype": "float32", "transformers_version": "4.51.0", "use_cache": true,
      "use_sliding_window": false, "vocab_size": 97})");
  throw std::invalid_argument(variant);
}

const std::vector<std::string> kVariants = {"llama3", "mistral", "qwen2", "qwen3"};

// The tensors of `cfg` under their HF names, from the config's numbers alone (not the harness's
// structs): what model.safetensors of a transformers save_pretrained holds. Biases ~ N(0, 0.5) and the
// q/k norm gains 1 + N(0, 0.3), so that each variant's extra parts move the logits visibly.
void write_hf_checkpoint(const std::string& dir, const json& cfg, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto normal = [&](std::vector<int64_t> shape, double std, double mean = 0) { return at::normal(mean, std, shape, gen); };
  const std::string type = cfg.at("model_type");
  const int64_t h = cfg.at("hidden_size"), ffn = cfg.at("intermediate_size"), layers = cfg.at("num_hidden_layers");
  const int64_t nh = cfg.at("num_attention_heads"), nkv = cfg.at("num_key_value_heads"), vocab = cfg.at("vocab_size");
  const int64_t hd = cfg.contains("head_dim") && !cfg["head_dim"].is_null() ? cfg["head_dim"].get<int64_t>() : h / nh;
  const bool attention_bias = cfg.value("attention_bias", false);
  const bool qkv_bias = type == "qwen2" || attention_bias, o_bias = attention_bias && type != "qwen2";
  std::vector<std::pair<std::string, at::Tensor>> t = {{"model.embed_tokens.weight", normal({vocab, h}, 1.0)}};
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    t.emplace_back(p + "input_layernorm.weight", normal({h}, 0.1, 1.0));
    t.emplace_back(p + "post_attention_layernorm.weight", normal({h}, 0.1, 1.0));
    t.emplace_back(p + "self_attn.q_proj.weight", normal({nh * hd, h}, 0.1));
    t.emplace_back(p + "self_attn.k_proj.weight", normal({nkv * hd, h}, 0.1));
    t.emplace_back(p + "self_attn.v_proj.weight", normal({nkv * hd, h}, 0.1));
    t.emplace_back(p + "self_attn.o_proj.weight", normal({h, nh * hd}, 0.1));
    if (qkv_bias) {
      t.emplace_back(p + "self_attn.q_proj.bias", normal({nh * hd}, 0.5));
      t.emplace_back(p + "self_attn.k_proj.bias", normal({nkv * hd}, 0.5));
      t.emplace_back(p + "self_attn.v_proj.bias", normal({nkv * hd}, 0.5));
    }
    if (o_bias) t.emplace_back(p + "self_attn.o_proj.bias", normal({h}, 0.5));
    if (type == "qwen3") {
      t.emplace_back(p + "self_attn.q_norm.weight", normal({hd}, 0.3, 1.0));
      t.emplace_back(p + "self_attn.k_norm.weight", normal({hd}, 0.3, 1.0));
    }
    t.emplace_back(p + "mlp.gate_proj.weight", normal({ffn, h}, 0.1));
    t.emplace_back(p + "mlp.up_proj.weight", normal({ffn, h}, 0.1));
    t.emplace_back(p + "mlp.down_proj.weight", normal({h, ffn}, 0.1));
  }
  t.emplace_back("model.norm.weight", normal({h}, 0.1, 1.0));
  if (!cfg.value("tie_word_embeddings", false)) t.emplace_back("lm_head.weight", normal({vocab, h}, 0.1));
  std::filesystem::create_directories(dir);
  ptq::io::write_safetensors(dir + "/model.safetensors", t);
  ptq::test::write_text(dir + "/config.json", cfg.dump(2) + "\n");
}

ptq::LlamaModel write_and_load(const ptq::test::TempDir& tmp, const std::string& variant, bool stream = false,
                               const json& patch = json::object()) {
  json cfg = variant_config(variant);
  cfg.merge_patch(patch);
  const std::string dir = tmp.file(variant);
  if (!std::filesystem::exists(dir + "/config.json")) write_hf_checkpoint(dir, cfg, 101);
  else ptq::test::write_text(dir + "/config.json", cfg.dump(2) + "\n");
  ptq::LoadOptions o;
  o.stream = stream;
  return ptq::load_llama(dir, o);
}

std::vector<int64_t> token_ids(int64_t n, uint64_t seed) {
  std::vector<int64_t> ids;
  uint64_t s = seed;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    ids.push_back(static_cast<int64_t>((s >> 33) % 97));
  }
  return ids;
}

double max_diff_to_naive(const ptq::LlamaModel& m, const std::vector<int64_t>& ids, const ptq::test::NaiveQuant& q = {}) {
  at::NoGradGuard no_grad;
  const at::Tensor got = m.forward(at::tensor(ids, at::kLong).unsqueeze(0))[0].to(at::kDouble);
  const auto ref = ptq::test::naive_logits(m, ids, q);
  double worst = 0;
  for (size_t t = 0; t < ids.size(); ++t)
    for (size_t v = 0; v < ref[t].size(); ++v)
      worst = std::max(worst, std::abs(got[static_cast<int64_t>(t)][static_cast<int64_t>(v)].item<double>() - ref[t][v]));
  return worst;
}

double ppl(const ptq::LlamaModel& m, const std::vector<int64_t>& stream, int64_t seqlen) {
  ptq::eval::PplOptions o;
  o.seqlen = seqlen;
  o.progress = false;
  return ptq::eval::evaluate_perplexity(m, at::tensor(stream, at::kLong), o).ppl;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ptq::InputError& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("every variant's HF checkpoint loads and its logits equal the naive reference", "[unit][arch]") {
  ptq::test::TempDir tmp;
  const auto ids = token_ids(24, 7);
  for (const auto& variant : kVariants) {
    INFO(variant);
    const ptq::LlamaModel m = write_and_load(tmp, variant);
    const auto& c = m.config();
    CHECK(c.model_type == variant_config(variant).at("model_type"));
    CHECK(c.has_q_bias() == (variant == "qwen2"));
    CHECK_FALSE(c.has_o_bias());
    CHECK(c.qk_norm == (variant == "qwen3"));
    CHECK(c.tie_word_embeddings == (variant != "mistral"));
    CHECK(c.head_dim == (variant == "qwen3" ? 24 : 16));
    CHECK(c.attention_window() == (variant == "mistral" ? 32 : 0));  // qwen2 declares 16 but does not use it
    if (variant == "llama3") CHECK(c.rope_scaling.type == "llama3");
    const double diff = max_diff_to_naive(m, ids);
    INFO("max |logits - naive| " << diff);
    CHECK(diff < 1e-4);
    // Streamed: the blocks (q/k norms and biases included) are read from the checkpoint by name.
    const ptq::LlamaModel s = write_and_load(tmp, variant, /*stream=*/true);
    at::NoGradGuard no_grad;
    const at::Tensor x = at::tensor(ids, at::kLong).unsqueeze(0);
    CHECK(at::allclose(s.forward(x), m.forward(x), 0, 1e-6));
  }
}

TEST_CASE("each variant's extra parts matter: without them the logits differ from the naive reference", "[unit][arch]") {
  // The comparison above would pass with a part ignored on both sides; here the harness drops it.
  ptq::test::TempDir tmp;
  const auto ids = token_ids(16, 8);
  SECTION("qwen2's q/k/v biases") {
    ptq::LlamaModel m = write_and_load(tmp, "qwen2");
    const ptq::LlamaModel ref = ptq::test::copy_model(m);
    ptq::DecoderBlock& b = m.block_in_place(0);
    b.q_proj.bias = b.q_proj.bias * 0;
    at::NoGradGuard no_grad;
    const at::Tensor x = at::tensor(ids, at::kLong).unsqueeze(0);
    CHECK((m.forward(x) - ref.forward(x)).abs().max().item<double>() > 1e-3);
  }
  SECTION("qwen3's q/k norms") {
    ptq::LlamaModel m = write_and_load(tmp, "qwen3");
    const ptq::LlamaModel ref = ptq::test::copy_model(m);
    ptq::DecoderBlock& b = m.block_in_place(1);
    b.k_norm = at::ones_like(b.k_norm);
    at::NoGradGuard no_grad;
    const at::Tensor x = at::tensor(ids, at::kLong).unsqueeze(0);
    CHECK((m.forward(x) - ref.forward(x)).abs().max().item<double>() > 1e-3);
  }
  SECTION("llama3 RoPE scaling") {
    const ptq::LlamaModel m = write_and_load(tmp, "llama3");
    const ptq::LlamaModel plain = write_and_load(tmp, "llama3", false, {{"rope_scaling", nullptr}});
    at::NoGradGuard no_grad;
    const at::Tensor x = at::tensor(ids, at::kLong).unsqueeze(0);
    CHECK((m.forward(x) - plain.forward(x)).abs().max().item<double>() > 1e-3);
  }
}

TEST_CASE("sliding windows: sequences within them run, longer ones are refused naming type, window and length",
          "[unit][arch]") {
  ptq::test::TempDir tmp;
  const auto forward = [](const ptq::LlamaModel& m, int64_t t) {
    return [&m, t] {
      at::NoGradGuard no_grad;
      m.forward(at::tensor(token_ids(t, 3), at::kLong).unsqueeze(0));
    };
  };
  const ptq::LlamaModel mistral = write_and_load(tmp, "mistral");
  CHECK(error_of(forward(mistral, 32)) == "accepted");
  const std::string e = error_of(forward(mistral, 33));
  CHECK_THAT(e, Contains("model_type mistral with sliding_window 32: a 33-token sequence"));
  CHECK(e.find('\n') == std::string::npos);
  // qwen2/qwen3: only with use_sliding_window, on the layers from max_window_layers on (or layer_types).
  const ptq::LlamaModel windowed = write_and_load(tmp, "qwen2", false, {{"use_sliding_window", true}});
  CHECK(windowed.config().attention_window() == 16);
  CHECK_THAT(error_of(forward(windowed, 24)), Contains("model_type qwen2 with sliding_window 16: a 24-token sequence"));
  CHECK(error_of(forward(windowed, 16)) == "accepted");
  const ptq::LlamaModel full = write_and_load(tmp, "qwen2", false, {{"use_sliding_window", true}, {"max_window_layers", 2}});
  CHECK(error_of(forward(full, 24)) == "accepted");
  const ptq::LlamaModel typed = write_and_load(tmp, "qwen2", false,
                                               {{"use_sliding_window", true},
                                                {"layer_types", {"full_attention", "full_attention"}}});
  CHECK(typed.config().attention_window() == 0);
  // A method that calibrates on windows longer than the window is refused before anything runs.
  const auto omni = ptq::pipeline::resolve_method("omniquant", json::object());
  const auto setting = ptq::quant::QuantSetting::parse("W4A16");
  CHECK_THAT(error_of([&] { ptq::pipeline::check_model_support(omni, mistral.config(), setting, 2048); }),
             Contains("model_type mistral with sliding_window 32: a 2048-token sequence"));
  CHECK(error_of([&] { ptq::pipeline::check_model_support(omni, mistral.config(), setting, 32); }) == "accepted");
  // A type the harness does not read, with the list of those it does.
  json gemma = variant_config("llama3");
  gemma["model_type"] = "gemma";
  CHECK_THAT(error_of([&] { ptq::LlamaConfig::from_json(gemma, "config.json"); }),
             Contains("model_type \"gemma\" is not supported (supported: llama, mistral, qwen2, qwen3)"));
}

TEST_CASE("RTN on every variant equals the naive fake-quant reference and evaluates", "[unit][arch]") {
  ptq::test::TempDir tmp;
  const auto ids = token_ids(24, 9);
  const auto stream = token_ids(48, 10);
  for (const auto& variant : kVariants) {
    INFO(variant);
    const ptq::LlamaModel fp = write_and_load(tmp, variant);
    ptq::LlamaModel q = ptq::test::copy_model(fp);
    ptq::test::apply_method(q, "rtn", "W4A16", json::object(), at::Tensor());
    // Only the seven linear weights are rounded: biases and q/k norms stay as they were.
    if (variant == "qwen2") CHECK(at::equal(q.block(0).v_proj.bias, fp.block(0).v_proj.bias));
    if (variant == "qwen3") CHECK(at::equal(q.block(0).q_norm, fp.block(0).q_norm));
    at::NoGradGuard no_grad;
    const at::Tensor got = q.forward(at::tensor(ids, at::kLong).unsqueeze(0))[0].to(at::kDouble);
    const auto ref = ptq::test::naive_logits(fp, ids, {4, 16, 16, 0});
    double worst = 0;
    for (size_t t = 0; t < ids.size(); ++t)
      for (size_t v = 0; v < ref[t].size(); ++v)
        worst = std::max(worst, std::abs(got[static_cast<int64_t>(t)][static_cast<int64_t>(v)].item<double>() - ref[t][v]));
    CHECK(worst < 1e-4);
    const double p = ppl(q, stream, 24);
    CHECK(p == Approx(ptq::test::naive_perplexity(fp, stream, 24, 2, {4, 16, 16, 0}).ppl).epsilon(1e-5));
  }
}

TEST_CASE("OmniQuant's weight-only LWC on every variant: trains, folds, evaluates, saves under its model_type",
          "[unit][arch]") {
  ptq::test::TempDir tmp;
  at::manual_seed(5);
  const at::Tensor calib = ptq::test::calibration_ids(2, 16, 97);
  const auto stream = token_ids(48, 11);
  for (const auto& variant : kVariants) {
    INFO(variant);
    const ptq::LlamaModel fp = write_and_load(tmp, variant);
    ptq::LlamaModel q = ptq::test::copy_model(fp);
    const auto report = ptq::test::apply_method(q, "omniquant", "W4A16", {{"epochs", 1}}, calib);
    CHECK(report.summary.at("let") == false);  // weight-only: LWC alone
    CHECK(report.qparams.size() == 2 * 7 * fp.num_blocks());
    CHECK_FALSE(at::equal(q.block(1).o_proj.weight, fp.block(1).o_proj.weight));
    if (variant == "qwen2") CHECK(at::equal(q.block(1).k_proj.bias, fp.block(1).k_proj.bias));
    if (variant == "qwen3") CHECK(at::equal(q.block(1).k_norm, fp.block(1).k_norm));
    // Evaluated: the perplexity evaluator on the quantized model equals the naive forward of its weights.
    const double p = ppl(q, stream, 24);
    CHECK(std::isfinite(p));
    CHECK(p == Approx(ptq::test::naive_perplexity(q, stream, 24, 2).ppl).epsilon(1e-5));
    // Saved: config.json keeps the type's class and keys; loaded back, the same logits.
    const std::string out = tmp.file(variant + "_lwc");
    ptq::save_llama(q, out, at::kFloat);
    const json saved = json::parse(ptq::test::read_text(out + "/config.json"));
    CHECK(saved.at("model_type") == variant_config(variant).at("model_type"));
    CHECK(saved.at("architectures") == variant_config(variant).at("architectures"));
    for (const char* key : {"sliding_window", "use_sliding_window", "max_window_layers", "attention_bias"})
      CHECK(saved.contains(key) == variant_config(variant).contains(key));
    for (const auto& item : saved.items()) CHECK(item.key().rfind("ptqbench_", 0) == std::string::npos);
    const ptq::LlamaModel back = ptq::load_llama(out);
    at::NoGradGuard no_grad;
    const at::Tensor x = at::tensor(stream, at::kLong).view({2, 24});
    CHECK(at::equal(back.forward(x), q.forward(x)));
  }
}

TEST_CASE("every method that claims a variant quantizes it end to end (W4A4, LET where the method has it, AWQ at W4A16)",
          "[unit][arch]") {
  ptq::test::TempDir tmp;
  at::manual_seed(6);
  const at::Tensor calib = ptq::test::calibration_ids(2, 16, 97);
  const auto stream = token_ids(48, 12);
  const json fast = {{"epochs", 1}};
  for (const auto& variant : kVariants) {
    const ptq::LlamaModel fp = write_and_load(tmp, variant);
    const double fp_ppl = ppl(fp, stream, 24);
    for (const std::string method : {"rtn", "omniquant", "lrquant", "cbq", "mppq", "gptq", "awq"}) {
      INFO(variant << " " << method);
      const bool closed_form = method == "rtn" || method == "gptq" || method == "awq";
      json config = closed_form ? json::object() : fast;
      // qwen3: LET only without its q/k scale (methods/omniquant/let.h); the default is refused below.
      if (variant == "qwen3" && (method == "omniquant" || method == "lrquant" || method == "mppq")) config["qk_scale"] = "off";
      ptq::LlamaModel q = ptq::test::copy_model(fp);
      const auto report = ptq::test::apply_method(q, method, method == "awq" ? "W4A16" : "W4A4", config, calib);
      if (method == "omniquant" || method == "lrquant" || method == "mppq") CHECK(report.summary.at("let") == true);
      const double p = ppl(q, stream, 24);
      CHECK(std::isfinite(p));
      CHECK(p != fp_ppl);
    }
  }
}

TEST_CASE("LET's transforms are exact on qwen2's biases and on qwen3 without the q/k scale", "[unit][arch][let]") {
  ptq::test::TempDir tmp;
  at::manual_seed(8);
  for (const std::string variant : {"qwen2", "qwen3"}) {
    INFO(variant);
    const ptq::LlamaModel m = write_and_load(tmp, variant);
    const auto& c = m.config();
    const ptq::DecoderBlock& b = m.block(0);
    const at::Tensor x = at::randn({2, 20, c.hidden_size});
    const auto rope = m.rope(20);
    const at::Tensor ref = ptq::decoder_block_forward(b, c, x, rope);
    ptq::methods::LetParams p;
    p.qkv_scale = at::rand({c.hidden_size}) * 2.7 + 0.3;
    p.out_scale = at::rand({c.kv_dim()}) * 2.7 + 0.3;
    p.fc1_scale = at::rand({c.hidden_size}) * 2.7 + 0.3;
    p.qkv_shift = at::randn({c.hidden_size}) * 0.2;
    p.out_shift = at::randn({c.kv_dim()}) * 0.2;
    p.fc1_shift = at::randn({c.hidden_size}) * 0.2;
    const ptq::DecoderBlock folded = ptq::methods::let_transform(b, c, p);
    CHECK(folded.o_proj.bias.defined());  // the v -> o shift: a bias qwen2's o_proj does not have
    CHECK((ptq::decoder_block_forward(folded, c, x, rope) - ref).abs().max().item<double>() < 1e-5);
    // A q/k scale tied on RoPE pairs: exact on qwen2 (biases scaled with the rows), not through qwen3's norms.
    const at::Tensor half = at::rand({c.num_key_value_heads, c.head_dim / 2}) * 2.7 + 0.3;
    p.qkt_scale = at::cat({half, half}, 1).reshape({-1});
    const double qk = (ptq::decoder_block_forward(ptq::methods::let_transform(b, c, p), c, x, rope) - ref).abs().max().item<double>();
    INFO("with a q/k scale: " << qk);
    if (variant == "qwen2") CHECK(qk < 1e-5);
    if (variant == "qwen3") CHECK(qk > 1e-3);
  }
}

TEST_CASE("biases a method adds that the type has no place for are saved as ptqbench_* keys and load back",
          "[unit][arch]") {
  // LRQuant trains LET's shifts: q/k/v/o, gate/up (and zero down) biases and norm biases on every type.
  ptq::test::TempDir tmp;
  at::manual_seed(9);
  const at::Tensor calib = ptq::test::calibration_ids(2, 16, 97);
  const auto ids = token_ids(16, 13);
  for (const auto& variant : kVariants) {
    INFO(variant);
    const ptq::LlamaModel fp = write_and_load(tmp, variant);
    ptq::LlamaModel q = ptq::test::copy_model(fp);
    json config = {{"epochs", 1}};
    if (variant == "qwen3") config["qk_scale"] = "off";
    ptq::test::apply_method(q, "lrquant", "W4A4", config, calib);
    REQUIRE(q.config().has_o_bias());
    REQUIRE(q.config().mlp_bias);
    const std::string out = tmp.file(variant + "_let");
    ptq::save_llama(q, out, at::kFloat);
    const json saved = json::parse(ptq::test::read_text(out + "/config.json"));
    CHECK(saved.at("model_type") == variant_config(variant).at("model_type"));
    CHECK(saved.at("ptqbench_norm_bias") == true);
    if (variant == "llama3") {  // llama's class holds them all
      CHECK(saved.at("attention_bias") == true);
      CHECK(saved.at("mlp_bias") == true);
      CHECK_FALSE(saved.contains("ptqbench_attention_bias"));
    } else {
      CHECK(saved.at("ptqbench_mlp_bias") == true);
      CHECK(saved.contains("ptqbench_attention_bias") == (variant != "qwen3"));  // qwen3: its own attention_bias
      if (variant == "qwen3") CHECK(saved.at("attention_bias") == true);
    }
    const ptq::LlamaModel back = ptq::load_llama(out);
    CHECK(back.config().model_type == q.config().model_type);
    q.set_activation_hooks(nullptr);  // the plain load has no activation quantizers: compare the weights' forward
    at::NoGradGuard no_grad;
    const at::Tensor x = at::tensor(ids, at::kLong).unsqueeze(0);
    CHECK(at::equal(back.forward(x), q.forward(x)));
    CHECK(max_diff_to_naive(back, ids) < 1e-4);  // the naive reference reads every added bias too
  }
}

TEST_CASE("unsupported combinations fail with one line naming the method and the model type", "[unit][arch]") {
  ptq::test::TempDir tmp;
  const ptq::LlamaModel qwen3 = write_and_load(tmp, "qwen3");
  const at::Tensor calib = ptq::test::calibration_ids(1, 8, 97);
  for (const std::string method : {"omniquant", "lrquant", "mppq"}) {
    INFO(method);
    // LET is on at W4A4 by default, with the q/k scale: refused before anything runs.
    ptq::LlamaModel m = ptq::test::copy_model(qwen3);
    const std::string e = error_of([&] { ptq::test::apply_method(m, method, "W4A4", {{"epochs", 1}}, calib); });
    CHECK_THAT(e, Contains(method + ": model_type qwen3 normalises each head of q and k"));
    CHECK_THAT(e, Contains("\"qk_scale\": \"off\""));
    CHECK(e.find('\n') == std::string::npos);
    CHECK(at::equal(m.block(0).q_proj.weight, qwen3.block(0).q_proj.weight));  // untouched
    const auto resolved = ptq::pipeline::resolve_method(method, json::object());
    CHECK_THAT(error_of([&] {
                 ptq::pipeline::check_model_support(resolved, qwen3.config(), ptq::quant::QuantSetting::parse("W4A4"), 16);
               }),
               Contains(method + ": model_type qwen3"));
    // Weight-only (LET off by default) and LET without the q/k scale are accepted.
    CHECK(error_of([&] {
            ptq::pipeline::check_model_support(resolved, qwen3.config(), ptq::quant::QuantSetting::parse("W4A16"), 16);
          }) == "accepted");
    const auto off = ptq::pipeline::resolve_method(method, {{"qk_scale", "off"}});
    CHECK(error_of([&] {
            ptq::pipeline::check_model_support(off, qwen3.config(), ptq::quant::QuantSetting::parse("W4A4"), 16);
          }) == "accepted");
  }
  // Every registered method states which variants it supports.
  for (const auto& name : ptq::methods::registry().names()) {
    INFO(name);
    CHECK_THAT(ptq::methods::registry().get(name).model_support(), Contains("qwen3"));
  }
}
