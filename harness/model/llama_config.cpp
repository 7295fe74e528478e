#include "harness/model/llama_config.h"

#include "harness/io/json_file.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ptq {

namespace {

using nlohmann::json;

class Reader {
 public:
  Reader(const json& j, const std::string& source) : j_(j), source_(source) {}

  bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

  int64_t integer(const char* key, const int64_t* fallback = nullptr) const {
    if (!has(key)) {
      if (fallback) return *fallback;
      throw InputError(fmt::format("{}: missing required key \"{}\" (an integer)", source_, key));
    }
    const auto& v = j_[key];
    if (!v.is_number_integer())
      throw InputError(fmt::format("{}: \"{}\" is {}, expected an integer", source_, key, v.dump()));
    return v.get<int64_t>();
  }
  int64_t integer_or(const char* key, int64_t fallback) const { return integer(key, &fallback); }

  double number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_[key];
    if (!v.is_number()) throw InputError(fmt::format("{}: \"{}\" is {}, expected a number", source_, key, v.dump()));
    return v.get<double>();
  }

  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_[key];
    if (!v.is_boolean()) throw InputError(fmt::format("{}: \"{}\" is {}, expected true or false", source_, key, v.dump()));
    return v.get<bool>();
  }

  std::string string_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_[key];
    if (!v.is_string()) throw InputError(fmt::format("{}: \"{}\" is {}, expected a string", source_, key, v.dump()));
    return v.get<std::string>();
  }

 private:
  const json& j_;
  const std::string& source_;
};

RopeScaling parse_rope_scaling(const json& s, const std::string& source, const char* key) {
  if (!s.is_object()) throw InputError(fmt::format("{}: \"{}\" is {}, expected an object or null", source, key, s.dump()));
  Reader r(s, source);
  RopeScaling out;
  // transformers < 4.45 wrote "type", later versions "rope_type".
  out.type = r.string_or("rope_type", r.string_or("type", "default"));
  if (out.type == "default") return out;
  if (out.type != "linear" && out.type != "dynamic" && out.type != "llama3")
    throw InputError(fmt::format("{}: {}.rope_type \"{}\" is not supported (supported: default, linear, dynamic, "
                                 "llama3)", source, key, out.type));
  out.factor = r.number_or("factor", 1.0);
  if (!(out.factor >= 1.0))
    throw InputError(fmt::format("{}: {}.factor is {}, expected a number >= 1", source, key, out.factor));
  if (out.type == "llama3") {
    for (const char* k : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"})
      if (!r.has(k)) throw InputError(fmt::format("{}: {} of type llama3 needs \"{}\"", source, key, k));
    out.low_freq_factor = r.number_or("low_freq_factor", 1.0);
    out.high_freq_factor = r.number_or("high_freq_factor", 4.0);
    out.original_max_position_embeddings = r.integer_or("original_max_position_embeddings", 8192);
    if (!(out.high_freq_factor > out.low_freq_factor))
      throw InputError(fmt::format("{}: {}: high_freq_factor must exceed low_freq_factor", source, key));
  }
  return out;
}

}  // namespace

LlamaConfig LlamaConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw InputError(fmt::format("{}: expected a JSON object", source));
  Reader r(j, source);
  LlamaConfig c;
  c.model_type = r.string_or("model_type", "llama");
  if (c.model_type != "llama")
    throw InputError(fmt::format("{}: model_type \"{}\" is not supported, expected \"llama\"", source, c.model_type));
  const std::string act = r.string_or("hidden_act", "silu");
  if (act != "silu") throw InputError(fmt::format("{}: hidden_act \"{}\" is not supported, expected \"silu\"", source, act));
  if (r.integer_or("pretraining_tp", 1) != 1)
    throw InputError(fmt::format("{}: pretraining_tp != 1 is not supported (it changes the numerics), expected 1", source));

  c.hidden_size = r.integer("hidden_size");
  c.intermediate_size = r.integer("intermediate_size");
  c.num_hidden_layers = r.integer("num_hidden_layers");
  c.num_attention_heads = r.integer("num_attention_heads");
  c.num_key_value_heads = r.integer_or("num_key_value_heads", c.num_attention_heads);
  c.vocab_size = r.integer("vocab_size");
  if (c.num_attention_heads > 0 && !r.has("head_dim") && c.hidden_size % c.num_attention_heads != 0)
    throw InputError(fmt::format("{}: hidden_size {} is not divisible by num_attention_heads {}", source,
                                 c.hidden_size, c.num_attention_heads));
  c.head_dim = r.integer_or("head_dim", c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0);
  c.max_position_embeddings = r.integer_or("max_position_embeddings", 2048);
  c.rms_norm_eps = r.number_or("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = r.boolean_or("tie_word_embeddings", false);
  c.attention_bias = r.boolean_or("attention_bias", false);
  c.mlp_bias = r.boolean_or("mlp_bias", false);
  c.norm_bias = r.boolean_or("ptqbench_norm_bias", false);
  c.act_clip = r.boolean_or("ptqbench_act_clip", false);
  c.bos_token_id = r.integer_or("bos_token_id", 1);
  if (r.has("eos_token_id")) {
    const auto& e = j["eos_token_id"];
    c.eos_token_ids.clear();
    if (e.is_array()) {
      for (const auto& v : e) {
        if (!v.is_number_integer()) throw InputError(fmt::format("{}: eos_token_id list holds {}, expected integers", source, v.dump()));
        c.eos_token_ids.push_back(v.get<int64_t>());
      }
    } else {
      c.eos_token_ids.push_back(r.integer("eos_token_id"));
    }
  }
  c.torch_dtype = r.string_or("dtype", r.string_or("torch_dtype", ""));

  // RoPE: transformers 5 moved theta and scaling into "rope_parameters"; "rope_scaling" stays an alias.
  c.rope_theta = r.number_or("rope_theta", 10000.0);
  if (r.has("rope_parameters")) {
    const auto& p = j["rope_parameters"];
    c.rope_scaling = parse_rope_scaling(p, source, "rope_parameters");
    c.rope_theta = Reader(p, source).number_or("rope_theta", c.rope_theta);
  } else if (r.has("rope_scaling")) {
    c.rope_scaling = parse_rope_scaling(j["rope_scaling"], source, "rope_scaling");
  }
  c.validate(source);
  return c;
}

LlamaConfig LlamaConfig::from_file(const std::string& path) {
  return from_json(io::read_json_file(path), path);
}

void LlamaConfig::validate(const std::string& source) const {
  const auto positive = [&](const char* key, int64_t v) {
    if (v <= 0) throw InputError(fmt::format("{}: \"{}\" is {}, expected a positive integer", source, key, v));
  };
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("num_key_value_heads", num_key_value_heads);
  positive("head_dim", head_dim);
  positive("vocab_size", vocab_size);
  positive("max_position_embeddings", max_position_embeddings);
  if (num_attention_heads % num_key_value_heads != 0)
    throw InputError(fmt::format("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", source,
                                 num_attention_heads, num_key_value_heads));
  if (head_dim % 2 != 0) throw InputError(fmt::format("{}: head_dim {} is odd, RoPE needs an even head_dim", source, head_dim));
  if (!(rms_norm_eps > 0)) throw InputError(fmt::format("{}: rms_norm_eps must be positive", source));
  if (!(rope_theta > 0)) throw InputError(fmt::format("{}: rope_theta must be positive", source));
}

json LlamaConfig::to_json() const {
  json j = {{"architectures", {"LlamaForCausalLM"}},
            {"model_type", model_type},
            {"hidden_act", "silu"},
            {"hidden_size", hidden_size},
            {"intermediate_size", intermediate_size},
            {"num_hidden_layers", num_hidden_layers},
            {"num_attention_heads", num_attention_heads},
            {"num_key_value_heads", num_key_value_heads},
            {"head_dim", head_dim},
            {"vocab_size", vocab_size},
            {"max_position_embeddings", max_position_embeddings},
            {"rms_norm_eps", rms_norm_eps},
            {"rope_theta", rope_theta},
            {"tie_word_embeddings", tie_word_embeddings},
            {"attention_bias", attention_bias},
            {"mlp_bias", mlp_bias},
            {"bos_token_id", bos_token_id}};
  j["eos_token_id"] = eos_token_ids.size() == 1 ? json(eos_token_ids[0]) : json(eos_token_ids);
  if (!torch_dtype.empty()) j["torch_dtype"] = torch_dtype;
  if (norm_bias) j["ptqbench_norm_bias"] = true;
  if (act_clip) j["ptqbench_act_clip"] = true;
  if (rope_scaling.type == "default") {
    j["rope_scaling"] = nullptr;
  } else {
    json s = {{"rope_type", rope_scaling.type}, {"factor", rope_scaling.factor}};
    if (rope_scaling.type == "llama3") {
      s["low_freq_factor"] = rope_scaling.low_freq_factor;
      s["high_freq_factor"] = rope_scaling.high_freq_factor;
      s["original_max_position_embeddings"] = rope_scaling.original_max_position_embeddings;
    }
    j["rope_scaling"] = s;
  }
  return j;
}

int64_t LlamaConfig::parameter_count() const {
  const int64_t attn = hidden_size * (q_dim() + 2 * kv_dim()) + q_dim() * hidden_size +
                       (attention_bias ? q_dim() + 2 * kv_dim() + hidden_size : 0);
  const int64_t mlp = 3 * hidden_size * intermediate_size + (mlp_bias ? 2 * intermediate_size + hidden_size : 0);
  const int64_t norms = (norm_bias ? 4 : 2) * hidden_size;
  const int64_t block = attn + mlp + norms + (act_clip ? 4 : 0);
  const int64_t embed = vocab_size * hidden_size;
  return embed + num_hidden_layers * block + hidden_size + (tie_word_embeddings ? 0 : embed);
}

}  // namespace ptq
