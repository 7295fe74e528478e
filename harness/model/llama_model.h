// A Llama-family decoder in LibTorch, with the numerics of transformers' eager LlamaForCausalLM:
// RMSNorm in float32, rotate-half RoPE, grouped-query attention written out as matmul-softmax-matmul
// (so that later Q/K/V and softmax quantization points have somewhere to live), SiLU-gated MLP.
// Blocks are plain structs of tensors, addressable one at a time for block-wise PTQ methods.
// The architecture variants (LlamaConfig::model_type: mistral, qwen2, qwen3) are this one forward with
// the config's optional parts: q/k/v (and o) biases, qwen3's per-head q/k RMSNorm before RoPE; a
// sequence longer than a sliding window is refused (LlamaConfig::check_sequence_length).
#pragma once

#include "harness/model/activation_hook.h"
#include "harness/model/llama_config.h"
#include "harness/model/rope.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ptq {

struct Linear {
  at::Tensor weight;  // [out_features, in_features], as stored by HF
  at::Tensor bias;    // undefined when the layer has none
  at::Tensor operator()(const at::Tensor& x) const;
};

struct DecoderBlock {
  at::Tensor input_layernorm;           // [hidden]
  at::Tensor post_attention_layernorm;  // [hidden]
  // Additive norm biases, undefined unless OmniQuant's LET folded a non-zero shift (config.norm_bias).
  at::Tensor input_layernorm_bias, post_attention_layernorm_bias;
  // qwen3 (config.qk_norm): RMSNorm gains [head_dim] applied to every head of q and of k before RoPE
  // ("self_attn.q_norm.weight", "self_attn.k_norm.weight"); undefined otherwise.
  at::Tensor q_norm, k_norm;
  Linear q_proj, k_proj, v_proj, o_proj;
  Linear gate_proj, up_proj, down_proj;
  // (HF name suffix relative to "model.layers.<i>.", tensor slot) for every tensor of the block.
  std::vector<std::pair<std::string, at::Tensor*>> named_tensors();
  // The seven linears in forward order, and their HF names (relative to "model.layers.<i>.").
  static constexpr std::array<const char*, 7> kLinearNames = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                              "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                                              "mlp.down_proj"};
  std::array<Linear*, 7> linears() { return {&q_proj, &k_proj, &v_proj, &o_proj, &gate_proj, &up_proj, &down_proj}; }
  // Every tensor converted to `dtype` in place (the engine trains 8-bit settings' blocks in float32).
  void cast(at::ScalarType dtype);
};

// Creates (as empty tensors) the optional slots `config` asks for (biases, q/k norms) so that
// named_tensors() lists them for a loader to fill.
void prepare_block_slots(DecoderBlock& b, const LlamaConfig& config);

class BlockStorage;  // model/block_storage.h

// The parts of one block's forward pass, exposed separately for methods that need to intervene.
// `bias` (optional) is added after the gain: the form LET's shift folds into (research §1.3).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, const at::Tensor& bias = {});
// RMSNorm of a block's attention / MLP input with that norm's optional bias.
at::Tensor input_norm(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x);
at::Tensor post_attention_norm(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& h);
// Heads are processed in chunks whose float32 score matrices stay under `score_chunk_bytes`.
constexpr int64_t kScoreChunkBytes = int64_t{32} << 20;
// `aq` is called at every ActivationSite (model/activation_hook.h); null: activations stay in float.
at::Tensor attention_forward(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x_normed,
                             const RopeTables& rope, const ActivationHook* aq = nullptr,
                             int64_t score_chunk_bytes = kScoreChunkBytes);
// The attention output before o_proj (and before o_proj's input quantizer): [B, T, heads*head_dim].
at::Tensor attention_context(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x_normed,
                             const RopeTables& rope, const ActivationHook* aq = nullptr,
                             int64_t score_chunk_bytes = kScoreChunkBytes);
at::Tensor mlp_forward(const DecoderBlock& b, const at::Tensor& x_normed, const ActivationHook* aq = nullptr);
// x: [B, T, hidden] -> [B, T, hidden].
at::Tensor decoder_block_forward(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x,
                                 const RopeTables& rope, const ActivationHook* aq = nullptr);

class LlamaModel {
 public:
  explicit LlamaModel(LlamaConfig config);

  const LlamaConfig& config() const { return config_; }
  at::Tensor embed_tokens;           // [vocab, hidden]
  at::Tensor norm;                   // [hidden]
  at::Tensor lm_head;                // [vocab, hidden]; the same tensor as embed_tokens when tied

  // Activation quantization: the hook block i's forward calls at each ActivationSite; null (the default)
  // computes in floating point. A quantization setting with A/KV bits < 16 gives every block one
  // (ptq/quant_setting.h: apply_activation_quant); a method may replace one block's (CBQ: with its learned
  // clipping; LRQuant's released test-time adaptation: none for its adapted block).
  void set_activation_hooks(const ActivationHookPtr& hook);  // every block
  void set_activation_hook(size_t i, ActivationHookPtr hook);
  const ActivationHookPtr& activation_hook(size_t i) const { return act_hooks_.at(i); }
  bool quantizes_activations() const;  // some block has a hook
  size_t blocks_saving_hook_tensors() const;  // blocks whose hook saves learned tensors (ActivationHook::saved_tensors)

  // The blocks (num_hidden_layers). Streaming (model/block_storage.h): a streamed model keeps its blocks
  // in a BlockStorage - the mmap'd checkpoint, then spill files - and holds none in memory; everything
  // that computes with a block goes through block(i) / set_block(i), which read it onto the model's
  // device one at a time. A resident model (the default) holds every block.
  size_t num_blocks() const { return blocks_.size(); }
  bool streamed() const { return storage_ != nullptr; }
  void rest_blocks_in(std::shared_ptr<BlockStorage> storage);  // makes the model streamed
  const BlockStorage* storage() const { return storage_.get(); }
  // Block i on the model's device in its dtype (a shallow copy, sharing the tensors, when resident).
  DecoderBlock block(size_t i) const;
  // Block i is `b` from now on (streamed: stored, spilled to disk when the storage has a spill directory).
  void set_block(size_t i, DecoderBlock b);
  // Block i is `b`, held in memory also by a streamed model (LRQuant's adapted copy of its last block
  // overrides the storage for that copy only).
  void pin_block(size_t i, DecoderBlock b);
  bool block_in_memory(size_t i) const { return blocks_.at(i).q_proj.weight.defined(); }
  // Block i itself, to build or transform a model in place (loaders, make-tiny). std::logic_error for a
  // block that is not in memory.
  DecoderBlock& block_in_place(size_t i);

  at::Tensor embed(const at::Tensor& ids) const;  // [B, T] int64 -> [B, T, hidden]
  at::Tensor block_forward(size_t i, const at::Tensor& hidden, const RopeTables& rope) const;
  // Blocks [begin, end) over `hidden` ([n, T, hidden]), one block at a time over all rows, `batch` rows
  // per forward: each block is read once (what a streamed model needs). Equal to calling block_forward
  // batch by batch.
  at::Tensor forward_blocks(const at::Tensor& hidden, const RopeTables& rope, size_t begin, size_t end, int64_t batch) const;
  at::Tensor logits(const at::Tensor& hidden) const;  // final norm + lm_head
  at::Tensor forward(const at::Tensor& ids) const;    // [B, T] -> logits [B, T, vocab]
  RopeTables rope(int64_t seqlen) const;              // on the model's device, in its dtype

  // Moves every tensor (keeps embed/lm_head tied). CPU runs float32; CUDA follows the references (fp16).
  void to(at::Device device, at::ScalarType dtype);
  at::Device device() const;
  at::ScalarType dtype() const;

  // After a method added biases to some blocks (OmniQuant's LET folds shifts into biases only where
  // they are non-zero): gives every block the same bias layout (zeros where missing) and sets the
  // config's attention_bias / mlp_bias / norm_bias so that the saved checkpoint loads back; and
  // config.act_clip when the blocks' activation hooks save learned tensors.
  void sync_bias_layout();

  // Every tensor under its Hugging Face name (lm_head omitted when tied), in a stable order. A streamed
  // model's resting blocks are not listed (they are not in memory): use block(i). The activation hooks'
  // saved tensors are not listed either (save_llama writes them; ptq/ reads them back).
  std::vector<std::pair<std::string, at::Tensor*>> named_tensors();

 private:
  std::vector<DecoderBlock> blocks_;
  LlamaConfig config_;
  std::shared_ptr<BlockStorage> storage_;  // null: every block resident in `blocks`
  std::vector<ActivationHookPtr> act_hooks_;  // one per block
};

}  // namespace ptq
