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
  j["model_type"] = "mistral";
  CHECK_THAT(error_of(j), Contains("model_type \"mistral\" is not supported"));
  j = llama2_7b();
  j["hidden_act"] = "gelu";
  CHECK_THAT(error_of(j), Contains("hidden_act \"gelu\""));
  j = llama2_7b();
  j["num_hidden_layers"] = 0;
  CHECK_THAT(error_of(j), Contains("\"num_hidden_layers\" is 0, expected a positive integer"));
  CHECK_THAT(error_of(json::array()), Contains("expected a JSON object"));
}
