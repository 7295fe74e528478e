// The architecture of a Llama-family checkpoint, read from its Hugging Face config.json.
// Defaults are those of transformers' LlamaConfig where a field may be absent (old LLaMA-1 files have no
// num_key_value_heads, Llama-2 files no rope_theta); both spellings of renamed fields are accepted
// (transformers 5: rope_parameters / dtype; earlier: rope_theta + rope_scaling / torch_dtype).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ptq {

// The per-block tensor of learned activation clipping logits (see LlamaConfig::act_clip).
constexpr const char* kActClipTensor = "ptqbench_act_clip";

struct RopeScaling {
  // "default" (none), "linear", "dynamic" (equal to default up to max_position_embeddings, the only
  // positions the harness uses), "llama3". Anything else is rejected when the config is read.
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  int64_t original_max_position_embeddings = 8192;       // llama3
};

struct LlamaConfig {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // GQA when smaller than num_attention_heads
  int64_t head_dim = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  // RMSNorms with an additive bias: not a Hugging Face field. OmniQuant's LET with a non-zero shift folds
  // -shift/scale into the norms (research/omniquant_lrquant.md §1.3); checkpoints the harness writes
  // then say "ptqbench_norm_bias": true and carry input_layernorm.bias / post_attention_layernorm.bias.
  bool norm_bias = false;
  // Per-block learned clipping logits of the activation quantizers ("model.layers.<i>.ptqbench_act_clip",
  // [4] per block, one per linear-input ActivationSite): CBQ's learnable activation steps, saved by the
  // blocks' activation hooks. Not a Hugging Face field either.
  bool act_clip = false;
  int64_t bos_token_id = 1;
  std::vector<int64_t> eos_token_ids{2};
  std::string torch_dtype;  // as declared ("float16", "bfloat16"), informational
  std::string model_type = "llama";

  // Parses and validates; throws InputError naming `source` (the file) and the offending key.
  static LlamaConfig from_json(const nlohmann::json& j, const std::string& source);
  static LlamaConfig from_file(const std::string& config_json_path);
  nlohmann::json to_json() const;  // HF layout, for checkpoints the harness writes
  void validate(const std::string& source) const;

  int64_t kv_groups() const { return num_attention_heads / num_key_value_heads; }
  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t parameter_count() const;
};

}  // namespace ptq
