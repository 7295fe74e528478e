// The architecture of a Llama-family checkpoint, read from its Hugging Face config.json.
// Defaults are those of transformers' config class for the model_type where a field may be absent (old
// LLaMA-1 files have no num_key_value_heads, Llama-2 files no rope_theta); both spellings of renamed
// fields are accepted (transformers 5: rope_parameters / dtype; earlier: rope_theta + rope_scaling /
// torch_dtype).
//
// Architecture variants: config-driven variants of the one decoder (harness/model/llama_model.h), each
// read with the semantics of its transformers class:
//   llama    LlamaForCausalLM: attention_bias (q/k/v/o), mlp_bias, Llama-3.x rope scaling, tied embeddings.
//   mistral  MistralForCausalLM: no biases; sliding_window (absent: 4096, as MistralConfig; null: none)
//            on every layer.
//   qwen2    Qwen2ForCausalLM: q/k/v biases always, o_proj none (no attention_bias key); a sliding
//            window only with use_sliding_window, on the layers from max_window_layers on (or as
//            layer_types says).
//   qwen3    Qwen3ForCausalLM: attention_bias (q/k/v/o, default false), head_dim (absent: 128, as
//            Qwen3Config), per-head RMSNorm of q and k (self_attn.q_norm / k_norm, [head_dim]) after
//            the projection, before RoPE; sliding window fields as qwen2.
// Sliding windows: a forward over at most `sliding_window` tokens is exactly full causal attention, so the
// windowed mask is not implemented; a longer sequence is refused (check_sequence_length).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ptq {

// The per-block tensor of learned activation clipping logits (see LlamaConfig::act_clip).
constexpr const char* kActClipTensor = "ptqbench_act_clip";

// The model_type values the harness reads: "llama", "mistral", "qwen2", "qwen3".
const std::vector<std::string>& supported_model_types();

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
  // Biases: attention_bias = q, k, v and o_proj (llama / qwen3 semantics); qkv_bias = q, k and v_proj
  // without o_proj (qwen2, where they are always there). A method that adds biases a model_type's class
  // cannot hold (LET's shifts: an o_proj bias in a qwen2 block, any bias in mistral, MLP biases outside
  // llama) keeps the model_type: the checkpoint says "ptqbench_attention_bias" / "ptqbench_mlp_bias"
  // (to_json), like ptqbench_norm_bias below. Such a checkpoint is the harness's format: ptqbench loads it
  // exactly; transformers would load the type and drop those tensors (a "weights not used" warning).
  bool attention_bias = false;
  bool qkv_bias = false;
  bool mlp_bias = false;
  // qwen3: per-head RMSNorm of q and k before RoPE (self_attn.q_norm.weight, self_attn.k_norm.weight).
  bool qk_norm = false;
  // Sliding-window attention as declared: sliding_window 0 = null; use_sliding_window / max_window_layers /
  // layer_types as qwen2 / qwen3 declare them (written back by to_json). attention_window() is what the
  // forward honours.
  int64_t sliding_window = 0;
  bool use_sliding_window = false;
  int64_t max_window_layers = 0;
  std::vector<std::string> layer_types;
  // RMSNorms with an additive bias: not a Hugging Face field. OmniQuant's LET with a non-zero shift folds
  // -shift/scale into the norms (research/omniquant_lrquant.md §1.3); checkpoints the harness writes
  // then say "ptqbench_norm_bias": true and carry input_layernorm.bias / post_attention_layernorm.bias.
  bool norm_bias = false;
  // Per-block learned clipping logits of the activation quantizers ("model.layers.<i>.ptqbench_act_clip",
  // [4] per block, one per linear-input ActivationSite): CBQ's learnable activation steps, saved by the
  // blocks' activation hooks. Not a Hugging Face field either.
  bool act_clip = false;
  int64_t bos_token_id = 1;  // -1: "bos_token_id": null (Qwen)
  std::vector<int64_t> eos_token_ids{2};
  std::string torch_dtype;  // as declared ("float16", "bfloat16"), informational
  std::string model_type = "llama";

  // Parses and validates; throws InputError naming `source` (the file) and the offending key.
  static LlamaConfig from_json(const nlohmann::json& j, const std::string& source);
  static LlamaConfig from_file(const std::string& config_json_path);
  nlohmann::json to_json() const;  // HF layout, for checkpoints the harness writes
  void validate(const std::string& source) const;

  // The window of the layers that attend over a sliding window (0: every layer attends over the whole
  // causal prefix), as transformers' class for model_type builds them.
  int64_t attention_window() const;
  // InputError naming the model_type, its sliding_window and `seqlen` when a forward over `seqlen` tokens
  // would need the sliding-window mask (not implemented: sequences up to the window are exact).
  void check_sequence_length(int64_t seqlen) const;
  bool has_q_bias() const { return attention_bias || qkv_bias; }  // q, k and v_proj
  bool has_o_bias() const { return attention_bias; }
  // The architecture transformers builds for model_type ("LlamaForCausalLM", ...).
  std::string architecture() const;

  int64_t kv_groups() const { return num_attention_heads / num_key_value_heads; }
  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t parameter_count() const;
};

}  // namespace ptq
