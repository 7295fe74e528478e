#include "harness/model/llama_config.h"
#include "harness/util/errors.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using ptq::LlamaConfig;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {
// The config.json of Llama-2-7b-hf (fields as published).
json llama2_7b() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
    "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 11008, "max_position_embeddings": 4096,
    "model_type": "llama", "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
    "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_scaling": null, "tie_word_embeddings": false,
    "torch_dtype": "float16", "transformers_version": "4.31.0.dev0", "use_cache": true, "vocab_size": 32000})");
}
std::string error_of(const json& j) {
  try {
    LlamaConfig::from_json(j, "config.json");
  } catch (const ptq::InputError& e) {
    return e.what();
  }
  return "accepted";
}
}  // namespace

TEST_CASE("a Llama-2-7B config.json is read field by field", "[unit][config]") {
  const auto c = LlamaConfig::from_json(llama2_7b(), "config.json");
  CHECK(c.hidden_size == 4096);
  CHECK(c.intermediate_size == 11008);
  CHECK(c.num_hidden_layers == 32);
  CHECK(c.num_attention_heads == 32);
  CHECK(c.num_key_value_heads == 32);
  CHECK(c.head_dim == 128);
  CHECK(c.vocab_size == 32000);
  CHECK(c.max_position_embeddings == 4096);
  CHECK(c.rms_norm_eps == 1e-5);
  CHECK(c.rope_theta == 10000.0);  // absent in the file: transformers' default
  CHECK(c.rope_scaling.type == "default");
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.bos_token_id == 1);
  CHECK(c.eos_token_ids == std::vector<int64_t>{2});
  CHECK(c.torch_dtype == "float16");
  CHECK(c.parameter_count() == 6738415616LL);  // the published parameter count of Llama-2-7B
}

TEST_CASE("defaults and alternative spellings", "[unit][config]") {
  json j = llama2_7b();
  j.erase("num_key_value_heads");  // LLaMA-1 files: MHA
  j.erase("rms_norm_eps");
  CHECK(LlamaConfig::from_json(j, "c").num_key_value_heads == 32);
  CHECK(LlamaConfig::from_json(j, "c").rms_norm_eps == 1e-6);

  j = llama2_7b();
  j["num_key_value_heads"] = 8;
  j["eos_token_id"] = {128001, 128009};
  j["rope_theta"] = 500000.0;
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  const auto c = LlamaConfig::from_json(j, "c");
  CHECK(c.kv_groups() == 4);
  CHECK(c.eos_token_ids == std::vector<int64_t>{128001, 128009});
  CHECK(c.rope_scaling.type == "llama3");
  CHECK(c.rope_scaling.original_max_position_embeddings == 8192);
  CHECK(c.rope_theta == 500000.0);

  // transformers 5: rope_parameters carries theta and the scaling type; dtype replaces torch_dtype.
  j = llama2_7b();
  j.erase("torch_dtype");
  j["dtype"] = "bfloat16";
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 1000000.0}};
  const auto c5 = LlamaConfig::from_json(j, "c");
  CHECK(c5.rope_theta == 1000000.0);
  CHECK(c5.torch_dtype == "bfloat16");

  j = llama2_7b();
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};  // pre-4.45 spelling
  CHECK(LlamaConfig::from_json(j, "c").rope_scaling.type == "linear");

  // bos_token_id: null (some Qwen files) is "none" and is written back as null; absent is LlamaConfig's 1.
  j = llama2_7b();
  j["bos_token_id"] = nullptr;
  const auto no_bos = LlamaConfig::from_json(j, "c");
  CHECK(no_bos.bos_token_id == -1);
  CHECK(no_bos.to_json()["bos_token_id"].is_null());
  j.erase("bos_token_id");
  CHECK(LlamaConfig::from_json(j, "c").bos_token_id == 1);
}

TEST_CASE("to_json round-trips", "[unit][config]") {
  json j = llama2_7b();
  j["num_key_value_heads"] = 8;
  j["tie_word_embeddings"] = true;
  const auto c = LlamaConfig::from_json(j, "c");
  const auto back = LlamaConfig::from_json(c.to_json(), "c");
  CHECK(back.to_json() == c.to_json());
  CHECK(back.num_key_value_heads == 8);
  CHECK(back.tie_word_embeddings);
}

TEST_CASE("invalid configs name the key and what was expected", "[unit][config]") {
  json j = llama2_7b();
  j["num_key_value_heads"] = 5;
  CHECK_THAT(error_of(j), Contains("num_attention_heads 32 is not a multiple of num_key_value_heads 5"));
  j = llama2_7b();
  j["num_attention_heads"] = 3;
  CHECK_THAT(error_of(j), Contains("hidden_size 4096 is not divisible by num_attention_heads 3"));
  j = llama2_7b();
  j.erase("hidden_size");
  CHECK_THAT(error_of(j), Contains("missing required key \"hidden_size\""));
  j = llama2_7b();
  j["vocab_size"] = "32000";
  CHECK_THAT(error_of(j), Contains("\"vocab_size\" is \"32000\", expected an integer"));
  j = llama2_7b();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  CHECK_THAT(error_of(j), Contains("rope_scaling.rope_type \"yarn\" is not supported"));
  j = llama2_7b();
  j["model_type"] = "gemma";
  CHECK_THAT(error_of(j), Contains("model_type \"gemma\" is not supported (supported: llama, mistral, qwen2, qwen3)"));
  j = llama2_7b();
  j["hidden_act"] = "gelu";
  CHECK_THAT(error_of(j), Contains("hidden_act \"gelu\""));
  j = llama2_7b();
  j["num_hidden_layers"] = 0;
  CHECK_THAT(error_of(j), Contains("\"num_hidden_layers\" is 0, expected a positive integer"));
  CHECK_THAT(error_of(json::array()), Contains("expected a JSON object"));
}

TEST_CASE("Mistral-7B-v0.1, Qwen2.5-0.5B and Qwen3-0.6B config.json files are read with their classes' semantics",
          "[unit][config][arch]") {
  const json mistral = json::parse(R"({"architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
    "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
    "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32, "num_hidden_layers": 32,
    "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "sliding_window": 4096,
    "tie_word_embeddings": false, "torch_dtype": "bfloat16", "transformers_version": "4.34.0.dev0", "use_cache": true,
    "vocab_size": 32000})");
  const auto m = LlamaConfig::from_json(mistral, "config.json");
  CHECK(m.attention_window() == 4096);
  CHECK_FALSE(m.has_q_bias());
  CHECK(m.parameter_count() == 7241732096LL);  // published
  json no_window = mistral;
  no_window["sliding_window"] = nullptr;  // v0.2 onwards
  CHECK(LlamaConfig::from_json(no_window, "c").attention_window() == 0);
  no_window.erase("sliding_window");  // absent: MistralConfig's default 4096
  CHECK(LlamaConfig::from_json(no_window, "c").attention_window() == 4096);

  const json qwen2 = json::parse(R"({"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0,
    "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896,
    "initializer_range": 0.02, "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
    "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
    "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
    "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false,
    "vocab_size": 151936})");
  const auto q2 = LlamaConfig::from_json(qwen2, "config.json");
  CHECK(q2.has_q_bias());
  CHECK_FALSE(q2.has_o_bias());
  CHECK(q2.attention_window() == 0);  // use_sliding_window false
  CHECK(q2.rope_theta == 1e6);
  CHECK(q2.parameter_count() == 494032768LL);  // published
  json q2_bias = qwen2;
  q2_bias["attention_bias"] = true;  // not a Qwen2Config key: ignored, as transformers ignores it
  CHECK_FALSE(LlamaConfig::from_json(q2_bias, "c").has_o_bias());

  const json qwen3 = json::parse(R"({"architectures": ["Qwen3ForCausalLM"], "attention_bias": false,
    "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
    "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072, "max_position_embeddings": 40960,
    "max_window_layers": 28, "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28,
    "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000,
    "sliding_window": null, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.51.0",
    "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})");
  const auto q3 = LlamaConfig::from_json(qwen3, "config.json");
  CHECK(q3.qk_norm);
  CHECK(q3.head_dim == 128);
  CHECK(q3.q_dim() == 2048);  // heads x head_dim, not hidden_size
  CHECK(q3.parameter_count() == 596049920LL);  // published
  json q3_no_head_dim = qwen3;
  q3_no_head_dim.erase("head_dim");  // Qwen3Config's default, not hidden / heads
  CHECK(LlamaConfig::from_json(q3_no_head_dim, "c").head_dim == 128);

  for (const json& j : {mistral, qwen2, qwen3}) {  // to_json writes the class's keys and reads back the same
    const auto c = LlamaConfig::from_json(j, "c");
    CHECK(c.to_json().at("architectures") == j.at("architectures"));
    CHECK(LlamaConfig::from_json(c.to_json(), "c").to_json() == c.to_json());
  }
}
