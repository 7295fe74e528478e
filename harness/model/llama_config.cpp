#include "harness/model/llama_config.h"

#include "harness/io/json_file.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"
#include "harness/util/text.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <utility>

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
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}))
      throw InputError(fmt::format("{}: \"{}\" is {}, expected an integer", source_, key, bounded_excerpt(v.dump())));
    return v.get<int64_t>();
  }
  int64_t integer_or(const char* key, int64_t fallback) const { return integer(key, &fallback); }

  double number_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_[key];
    if (!v.is_number()) throw InputError(fmt::format("{}: \"{}\" is {}, expected a number", source_, key, bounded_excerpt(v.dump())));
    return v.get<double>();
  }

  bool boolean_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_[key];
    if (!v.is_boolean()) throw InputError(fmt::format("{}: \"{}\" is {}, expected true or false", source_, key, bounded_excerpt(v.dump())));
    return v.get<bool>();
  }

  std::string string_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const auto& v = j_[key];
    if (!v.is_string()) throw InputError(fmt::format("{}: \"{}\" is {}, expected a string", source_, key, bounded_excerpt(v.dump())));
    return v.get<std::string>();
  }

 private:
  const json& j_;
  const std::string& source_;
};

RopeScaling parse_rope_scaling(const json& s, const std::string& source, const char* key) {
  if (!s.is_object()) throw InputError(fmt::format("{}: \"{}\" is {}, expected an object or null", source, key, bounded_excerpt(s.dump())));
  Reader r(s, source);
  RopeScaling out;
  // transformers < 4.45 wrote "type", later versions "rope_type".
  out.type = r.string_or("rope_type", r.string_or("type", "default"));
  if (out.type == "default") return out;
  if (out.type != "linear" && out.type != "dynamic" && out.type != "llama3")
    throw InputError(fmt::format("{}: {}.rope_type \"{}\" is not supported (supported: default, linear, dynamic, "
                                 "llama3)", source, key, bounded_excerpt(out.type)));
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

// transformers' defaults for a key a config.json may lack, per model_type.
struct TypeDefaults {
  int64_t max_position_embeddings;
  int64_t head_dim;  // 0: hidden_size / num_attention_heads
};

TypeDefaults type_defaults(const std::string& type) {
  if (type == "mistral") return {4096 * 32, 0};
  if (type == "qwen2") return {32768, 0};
  if (type == "qwen3") return {32768, 128};  // Qwen3Config(head_dim=128)
  return {2048, 0};
}

// An integer, or null (0); `absent` when the key is missing.
int64_t integer_or_null(const json& j, const char* key, int64_t absent, const std::string& source) {
  if (!j.contains(key)) return absent;
  if (j[key].is_null()) return 0;
  return Reader(j, source).integer(key);
}

}  // namespace

const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types = {"llama", "mistral", "qwen2", "qwen3"};
  return types;
}

LlamaConfig LlamaConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) throw InputError(fmt::format("{}: expected a JSON object", source));
  Reader r(j, source);
  LlamaConfig c;
  c.model_type = r.string_or("model_type", "llama");
  const auto& types = supported_model_types();
  if (std::find(types.begin(), types.end(), c.model_type) == types.end())
    throw InputError(fmt::format("{}: model_type \"{}\" is not supported (supported: {})", source, bounded_excerpt(c.model_type),
                                 join(types, ", ")));
  const std::string& type = c.model_type;
  const bool qwen = type == "qwen2" || type == "qwen3";
  const TypeDefaults defaults = type_defaults(type);
  const std::string act = r.string_or("hidden_act", "silu");
  if (act != "silu") throw InputError(fmt::format("{}: hidden_act \"{}\" is not supported, expected \"silu\"", source, bounded_excerpt(act)));
  if (r.integer_or("pretraining_tp", 1) != 1)
    throw InputError(fmt::format("{}: pretraining_tp != 1 is not supported (it changes the numerics), expected 1", source));

  c.hidden_size = r.integer("hidden_size");
  c.intermediate_size = r.integer("intermediate_size");
  c.num_hidden_layers = r.integer("num_hidden_layers");
  c.num_attention_heads = r.integer("num_attention_heads");
  c.num_key_value_heads = r.integer_or("num_key_value_heads", c.num_attention_heads);
  c.vocab_size = r.integer("vocab_size");
  if (c.num_attention_heads > 0 && !r.has("head_dim") && defaults.head_dim == 0 && c.hidden_size % c.num_attention_heads != 0)
    throw InputError(fmt::format("{}: hidden_size {} is not divisible by num_attention_heads {}", source,
                                 c.hidden_size, c.num_attention_heads));
  c.head_dim = r.integer_or("head_dim", defaults.head_dim > 0                ? defaults.head_dim
                                        : c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads
                                                                    : 0);
  c.max_position_embeddings = r.integer_or("max_position_embeddings", defaults.max_position_embeddings);
  c.rms_norm_eps = r.number_or("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = r.boolean_or("tie_word_embeddings", false);
  // Biases as the type's class builds them; keys a class does not read are ignored, as transformers
  // ignores them. "ptqbench_*": biases a method added that the class has no place for (see the header).
  const bool native_attention_bias = (type == "llama" || type == "qwen3") && r.boolean_or("attention_bias", false);
  c.attention_bias = native_attention_bias || r.boolean_or("ptqbench_attention_bias", false);
  c.qkv_bias = type == "qwen2";
  c.mlp_bias = (type == "llama" && r.boolean_or("mlp_bias", false)) || r.boolean_or("ptqbench_mlp_bias", false);
  c.qk_norm = type == "qwen3";
  c.norm_bias = r.boolean_or("ptqbench_norm_bias", false);
  c.act_clip = r.boolean_or("ptqbench_act_clip", false);
  if (type == "mistral") c.sliding_window = integer_or_null(j, "sliding_window", 4096, source);  // MistralConfig
  if (qwen) {
    c.use_sliding_window = r.boolean_or("use_sliding_window", false);
    c.sliding_window = integer_or_null(j, "sliding_window", 4096, source);
    c.max_window_layers = r.integer_or("max_window_layers", 28);
    if (r.has("layer_types")) {
      const auto& lt = j["layer_types"];
      if (!lt.is_array()) throw InputError(fmt::format("{}: \"layer_types\" is {}, expected a list", source, bounded_excerpt(lt.dump())));
      for (const auto& v : lt) {
        if (!v.is_string() || (v != "full_attention" && v != "sliding_attention"))
          throw InputError(fmt::format("{}: layer_types holds {}, expected \"full_attention\" or \"sliding_attention\"",
                                       source, bounded_excerpt(v.dump())));
        c.layer_types.push_back(v.get<std::string>());
      }
    }
  }
  // "bos_token_id": null (Qwen's files) means none; an absent key is transformers' LlamaConfig default 1.
  c.bos_token_id = j.contains("bos_token_id") && j["bos_token_id"].is_null() ? -1 : r.integer_or("bos_token_id", 1);
  if (r.has("eos_token_id")) {
    const auto& e = j["eos_token_id"];
    c.eos_token_ids.clear();
    if (e.is_array()) {
      for (const auto& v : e) {
        if (!v.is_number_integer()) throw InputError(fmt::format("{}: eos_token_id list holds {}, expected integers", source, bounded_excerpt(v.dump())));
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
  // Sizes that allocate: a hostile or mistyped config.json fails here, before any tensor is made.
  const std::pair<const char*, std::pair<Limit, int64_t>> sizes[] = {
      {"num_hidden_layers", {Limit::kLayers, num_hidden_layers}},
      {"hidden_size", {Limit::kHiddenSize, hidden_size}},
      {"intermediate_size", {Limit::kIntermediateSize, intermediate_size}},
      {"num_attention_heads", {Limit::kAttentionHeads, num_attention_heads}},
      {"num_key_value_heads", {Limit::kAttentionHeads, num_key_value_heads}},
      {"head_dim", {Limit::kHiddenSize, head_dim}},
      {"vocab_size", {Limit::kVocabulary, vocab_size}},
      {"max_position_embeddings", {Limit::kContextLength, max_position_embeddings}}};
  for (const auto& [key, limit] : sizes) check_limit(limit.first, limit.second, fmt::format("{}: {}", source, key));
  if (num_attention_heads % num_key_value_heads != 0)
    throw InputError(fmt::format("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", source,
                                 num_attention_heads, num_key_value_heads));
  if (head_dim % 2 != 0) throw InputError(fmt::format("{}: head_dim {} is odd, RoPE needs an even head_dim", source, head_dim));
  if (!(rms_norm_eps > 0)) throw InputError(fmt::format("{}: rms_norm_eps must be positive", source));
  if (!(rope_theta > 0)) throw InputError(fmt::format("{}: rope_theta must be positive", source));
  if (sliding_window < 0) throw InputError(fmt::format("{}: \"sliding_window\" is {}, expected a positive integer or null", source, sliding_window));
  if (!layer_types.empty() && static_cast<int64_t>(layer_types.size()) != num_hidden_layers)
    throw InputError(fmt::format("{}: layer_types has {} entries, expected num_hidden_layers {}", source, layer_types.size(),
                                 num_hidden_layers));
}

int64_t LlamaConfig::attention_window() const {
  if (model_type == "mistral") return sliding_window;  // every layer
  if (model_type != "qwen2" && model_type != "qwen3") return 0;
  // Qwen2Config / Qwen3Config: sliding_window = None unless use_sliding_window; the layers from
  // max_window_layers on are "sliding_attention" unless layer_types says which.
  if (!use_sliding_window || sliding_window == 0) return 0;
  const bool any = layer_types.empty() ? max_window_layers < num_hidden_layers
                                       : std::find(layer_types.begin(), layer_types.end(), "sliding_attention") != layer_types.end();
  return any ? sliding_window : 0;
}

void LlamaConfig::check_sequence_length(int64_t seqlen) const {
  const int64_t w = attention_window();
  if (w > 0 && seqlen > w)
    throw InputError(fmt::format("model_type {} with sliding_window {}: a {}-token sequence needs the sliding-window "
                                 "attention mask, which ptqbench does not implement (sequences of at most {} tokens "
                                 "are exact)", model_type, w, seqlen, w));
}

std::string LlamaConfig::architecture() const {
  if (model_type == "mistral") return "MistralForCausalLM";
  if (model_type == "qwen2") return "Qwen2ForCausalLM";
  if (model_type == "qwen3") return "Qwen3ForCausalLM";
  return "LlamaForCausalLM";
}

json LlamaConfig::to_json() const {
  json j = {{"architectures", {architecture()}},
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
            {"bos_token_id", bos_token_id >= 0 ? json(bos_token_id) : json(nullptr)}};
  // Each type with the keys its class reads; biases it has no place for as ptqbench_* (see the header).
  const auto window = [&] { return sliding_window > 0 ? json(sliding_window) : json(nullptr); };
  if (model_type == "llama") {
    j["attention_bias"] = attention_bias;
    j["mlp_bias"] = mlp_bias;
  } else {
    if (model_type == "qwen3") j["attention_bias"] = attention_bias;
    else if (attention_bias) j["ptqbench_attention_bias"] = true;
    if (mlp_bias) j["ptqbench_mlp_bias"] = true;
  }
  if (model_type == "mistral") j["sliding_window"] = window();
  if (model_type == "qwen2" || model_type == "qwen3") {
    j["use_sliding_window"] = use_sliding_window;
    j["sliding_window"] = window();
    j["max_window_layers"] = max_window_layers;
    if (!layer_types.empty()) j["layer_types"] = layer_types;
  }
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
                       (has_q_bias() ? q_dim() + 2 * kv_dim() : 0) + (has_o_bias() ? hidden_size : 0) +
                       (qk_norm ? 2 * head_dim : 0);
  const int64_t mlp = 3 * hidden_size * intermediate_size + (mlp_bias ? 2 * intermediate_size + hidden_size : 0);
  const int64_t norms = (norm_bias ? 4 : 2) * hidden_size;
  const int64_t block = attn + mlp + norms + (act_clip ? 4 : 0);
  const int64_t embed = vocab_size * hidden_size;
  return embed + num_hidden_layers * block + hidden_size + (tie_word_embeddings ? 0 : embed);
}

}  // namespace ptq
