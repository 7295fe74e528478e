#include "harness/model/llama_model.h"

#include "harness/model/attention_core.h"
#include "harness/model/block_reader.h"
#include "harness/model/block_storage.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>

namespace ptq {

at::Tensor Linear::operator()(const at::Tensor& x) const { return at::linear(x, weight, bias); }

namespace {

// A linear input shared by several linears (q/k/v, gate/up). While training, each linear quantizes it
// again, as the reference's QuantLinears each quantize their own input: the values are the same, but each
// quantizer's backward is summed separately, in the reference's order. Without gradients it is
// quantized once.
class QuantizedInput {
 public:
  QuantizedInput(const ActivationHook* aq, const at::Tensor& x, ActivationSite site)
      : aq_(aq), x_(x), site_(site), first_(at_site(aq, x, site)) {}
  const at::Tensor& first() const { return first_; }
  at::Tensor again() const { return aq_ != nullptr && c10::GradMode::is_enabled() ? at_site(aq_, x_, site_) : first_; }

 private:
  const ActivationHook* aq_;
  const at::Tensor& x_;
  ActivationSite site_;
  at::Tensor first_;
};

}  // namespace

std::vector<std::pair<std::string, at::Tensor*>> DecoderBlock::named_tensors() {
  std::vector<std::pair<std::string, at::Tensor*>> out = {
      {"input_layernorm.weight", &input_layernorm},
      {"post_attention_layernorm.weight", &post_attention_layernorm},
  };
  if (input_layernorm_bias.defined()) out.emplace_back("input_layernorm.bias", &input_layernorm_bias);
  if (post_attention_layernorm_bias.defined()) out.emplace_back("post_attention_layernorm.bias", &post_attention_layernorm_bias);
  if (q_norm.defined()) out.emplace_back("self_attn.q_norm.weight", &q_norm);
  if (k_norm.defined()) out.emplace_back("self_attn.k_norm.weight", &k_norm);
  const auto ls = linears();
  for (size_t k = 0; k < ls.size(); ++k) {
    out.emplace_back(std::string(kLinearNames[k]) + ".weight", &ls[k]->weight);
    if (ls[k]->bias.defined()) out.emplace_back(std::string(kLinearNames[k]) + ".bias", &ls[k]->bias);
  }
  return out;
}

void DecoderBlock::cast(at::ScalarType dtype) {
  for (auto& [name, t] : named_tensors()) *t = t->to(dtype);
}

void prepare_block_slots(DecoderBlock& b, const LlamaConfig& c) {
  if (c.has_q_bias())
    for (Linear* l : {&b.q_proj, &b.k_proj, &b.v_proj}) l->bias = at::empty({0});
  if (c.has_o_bias()) b.o_proj.bias = at::empty({0});
  if (c.qk_norm) b.q_norm = b.k_norm = at::empty({0});
  if (c.mlp_bias)
    for (Linear* l : {&b.gate_proj, &b.up_proj, &b.down_proj}) l->bias = at::empty({0});
  if (c.norm_bias) b.input_layernorm_bias = b.post_attention_layernorm_bias = at::empty({0});
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, const at::Tensor& bias) {
  // As HF LlamaRMSNorm: statistics in float32, the product with the weight in the input dtype.
  const at::Tensor x32 = x.to(at::kFloat);
  const at::Tensor variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  const at::Tensor y = weight * (x32 * at::rsqrt(variance + eps)).to(x.scalar_type());
  return bias.defined() ? y + bias : y;
}

at::Tensor input_norm(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x) {
  return rms_norm(x, b.input_layernorm, c.rms_norm_eps, b.input_layernorm_bias);
}

at::Tensor post_attention_norm(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& h) {
  return rms_norm(h, b.post_attention_layernorm, c.rms_norm_eps, b.post_attention_layernorm_bias);
}

at::Tensor attention_forward(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x_normed,
                             const RopeTables& rope, const ActivationHook* aq, int64_t score_chunk_bytes) {
  const at::Tensor context = attention_context(b, c, x_normed, rope, aq, score_chunk_bytes);
  return b.o_proj(at_site(aq, context, ActivationSite::kOutInput));
}

at::Tensor attention_context(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x_normed,
                             const RopeTables& rope, const ActivationHook* aq, int64_t score_chunk_bytes) {
  const int64_t batch = x_normed.size(0), t = x_normed.size(1), hd = c.head_dim;
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads;
  c.check_sequence_length(t);  // a sliding window shorter than the sequence: refused
  const QuantizedInput x(aq, x_normed, ActivationSite::kQkvInput);
  // [B, T, heads*hd] -> [B, heads, T, hd]
  at::Tensor q = b.q_proj(x.first()).view({batch, t, nh, hd}).transpose(1, 2);
  at::Tensor k = b.k_proj(x.again()).view({batch, t, nkv, hd}).transpose(1, 2);
  at::Tensor v = b.v_proj(x.again()).view({batch, t, nkv, hd}).transpose(1, 2);
  if (c.qk_norm) {  // qwen3: RMSNorm over each head's head_dim channels (float32 statistics), before RoPE
    q = rms_norm(q, b.q_norm, c.rms_norm_eps);
    k = rms_norm(k, b.k_norm, c.rms_norm_eps);
  }
  q = at_site(aq, apply_rope(q, rope), ActivationSite::kQuery).contiguous();
  k = apply_rope(k, rope);
  if (nkv != nh) {  // GQA: query head h reads key/value head h / (nh / nkv), as HF repeat_kv
    const int64_t groups = nh / nkv;
    k = k.unsqueeze(2).expand({batch, nkv, groups, t, hd}).reshape({batch, nh, t, hd});
    v = v.unsqueeze(2).expand({batch, nkv, groups, t, hd}).reshape({batch, nh, t, hd});
  }
  // K and V quantized after the repeat, as the reference (int_llama_layer.py): the same values as before
  // it, but each repeated head's quantizer has its own backward, summed as the reference sums them.
  k = at_site(aq, k, ActivationSite::kKey).contiguous();
  v = at_site(aq, v, ActivationSite::kValue).contiguous();

  // softmax(q k^T / sqrt(hd) + causal mask) v, as HF's eager attention and the reference: the GEMM,
  // then a true division by sqrt(hd), then the mask (softmax in float32). Multiplying by 1 / sqrt(hd)
  // inside the GEMM (baddbmm) differs in the last bit, and 4-bit activation quantizers turn that into
  // other roundings (RTN W4A4 on stories260K: 177.1497 against the reference's 176.9960). Heads are
  // processed in chunks whose score matrix stays below 32 MiB: a 7B layer at 2048 tokens would otherwise
  // allocate and sweep 512 MiB score tensors several times per block.
  const double sqrt_hd = std::sqrt(static_cast<double>(hd));
  if (attention_core_supported(q)) {  // CPU float32: heads side by side, the same arithmetic (model/attention_core.h)
    const at::Tensor o = causal_attention_core(q.reshape({batch * nh, t, hd}), k.reshape({batch * nh, t, hd}),
                                               v.reshape({batch * nh, t, hd}), sqrt_hd);
    return o.view({batch, nh, t, hd}).transpose(1, 2).reshape({batch, t, nh * hd});
  }
  const at::Tensor mask = at::full({t, t}, -std::numeric_limits<double>::infinity(), q.options()).triu(1);
  const int64_t score_bytes = batch * t * t * static_cast<int64_t>(sizeof(float));
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(nh, score_chunk_bytes / score_bytes));
  at::Tensor out = at::empty({batch, t, nh, hd}, q.options());
  for (int64_t h0 = 0; h0 < nh; h0 += chunk) {
    const int64_t n = std::min(chunk, nh - h0);
    const at::Tensor qh = q.narrow(1, h0, n).reshape({batch * n, t, hd});
    const at::Tensor kh = k.narrow(1, h0, n).reshape({batch * n, t, hd});
    const at::Tensor vh = v.narrow(1, h0, n).reshape({batch * n, t, hd});
    const at::Tensor scores = at::bmm(qh, kh.transpose(1, 2)).div_(sqrt_hd).add_(mask);  // bmm saves its inputs only
    const at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    out.narrow(2, h0, n).copy_(at::bmm(probs, vh).view({batch, n, t, hd}).transpose(1, 2));
  }
  return out.view({batch, t, nh * hd});
}

at::Tensor mlp_forward(const DecoderBlock& b, const at::Tensor& x_normed, const ActivationHook* aq) {
  const QuantizedInput x(aq, x_normed, ActivationSite::kGateUpInput);
  const at::Tensor gate = at::silu(b.gate_proj(x.first()));
  return b.down_proj(at_site(aq, gate * b.up_proj(x.again()), ActivationSite::kDownInput));
}

at::Tensor decoder_block_forward(const DecoderBlock& b, const LlamaConfig& c, const at::Tensor& x,
                                 const RopeTables& rope, const ActivationHook* aq) {
  at::Tensor h = x + attention_forward(b, c, input_norm(b, c, x), rope, aq);
  return h + mlp_forward(b, post_attention_norm(b, c, h), aq);
}

LlamaModel::LlamaModel(LlamaConfig config)
    : blocks_(config.num_hidden_layers), config_(std::move(config)), act_hooks_(blocks_.size()) {}

void LlamaModel::set_activation_hooks(const ActivationHookPtr& hook) { act_hooks_.assign(blocks_.size(), hook); }

void LlamaModel::set_activation_hook(size_t i, ActivationHookPtr hook) { act_hooks_.at(i) = std::move(hook); }

bool LlamaModel::quantizes_activations() const {
  return std::any_of(act_hooks_.begin(), act_hooks_.end(), [](const ActivationHookPtr& h) { return h != nullptr; });
}

size_t LlamaModel::blocks_saving_hook_tensors() const {
  return static_cast<size_t>(std::count_if(act_hooks_.begin(), act_hooks_.end(),
                                           [](const ActivationHookPtr& h) { return h && !h->saved_tensors().empty(); }));
}

at::Tensor LlamaModel::embed(const at::Tensor& ids) const { return at::embedding(embed_tokens, ids); }

void LlamaModel::rest_blocks_in(std::shared_ptr<BlockStorage> storage) {
  storage_ = std::move(storage);
  for (auto& b : blocks_) b = DecoderBlock{};
}

DecoderBlock LlamaModel::block(size_t i) const {
  if (!storage_ || block_in_memory(i)) return blocks_.at(i);
  return storage_->load(i, config_, device(), dtype());
}

void LlamaModel::set_block(size_t i, DecoderBlock b) {
  if (!storage_) {
    blocks_.at(i) = std::move(b);
    return;
  }
  if (storage_.use_count() > 1) storage_ = std::make_shared<BlockStorage>(*storage_);  // copy on write
  storage_->store(i, b);
  blocks_.at(i) = DecoderBlock{};
}

void LlamaModel::pin_block(size_t i, DecoderBlock b) { blocks_.at(i) = std::move(b); }

DecoderBlock& LlamaModel::block_in_place(size_t i) {
  if (!block_in_memory(i) && streamed())
    throw std::logic_error(fmt::format("block {} of a streamed model is not in memory: use block(i) / set_block(i)", i));
  return blocks_.at(i);
}

at::Tensor LlamaModel::block_forward(size_t i, const at::Tensor& hidden, const RopeTables& rope) const {
  return decoder_block_forward(block(i), config_, hidden, rope, act_hooks_.at(i).get());
}

at::Tensor LlamaModel::forward_blocks(const at::Tensor& hidden, const RopeTables& rope, size_t begin, size_t end,
                                      int64_t batch) const {
  at::Tensor h = hidden;
  BlockReader reader(*this, begin, end);  // a streamed model reads the next block while this one runs
  for (size_t i = begin; i < end; ++i) {
    const DecoderBlock b = reader.next();
    const ActivationHook* aq = act_hooks_.at(i).get();
    std::vector<at::Tensor> out;
    for (int64_t j = 0; j < h.size(0); j += batch)
      out.push_back(decoder_block_forward(b, config_, h.narrow(0, j, std::min(batch, h.size(0) - j)), rope, aq));
    h = at::cat(out, 0);
  }
  return h;
}

at::Tensor LlamaModel::logits(const at::Tensor& hidden) const {
  return at::linear(rms_norm(hidden, norm, config_.rms_norm_eps), lm_head);
}

at::Tensor LlamaModel::forward(const at::Tensor& ids) const {
  const RopeTables r = rope(ids.size(1));
  at::Tensor h = embed(ids);
  for (size_t i = 0; i < blocks_.size(); ++i) h = block_forward(i, h, r);
  return logits(h);
}

RopeTables LlamaModel::rope(int64_t seqlen) const {
  return rope_tables(config_, seqlen, at::TensorOptions().dtype(dtype()).device(device()));
}

void LlamaModel::to(at::Device device, at::ScalarType dtype) {
  const bool tied = lm_head.defined() && lm_head.is_same(embed_tokens);
  for (auto& [name, t] : named_tensors())
    if (t->defined()) *t = t->to(device, dtype);
  if (tied) lm_head = embed_tokens;
}

void LlamaModel::sync_bias_layout() {
  // A streamed model's resting blocks are asked by name; BlockStorage::load fills the same zeros.
  const auto rests_with = [this](std::initializer_list<const char*> suffixes) {
    for (size_t i = 0; storage_ && i < blocks_.size(); ++i)
      for (const char* s : suffixes)
        if (!block_in_memory(i) && storage_->has(i, s)) return true;
    return false;
  };
  const auto complete = [this](const std::function<std::vector<std::pair<at::Tensor*, int64_t>>(DecoderBlock&)>& slots,
                               bool any) {
    for (auto& b : blocks_)
      for (auto& [t, n] : slots(b)) any = any || t->defined();
    if (any)
      for (auto& b : blocks_)
        if (b.q_proj.weight.defined())
          for (auto& [t, n] : slots(b))
            if (!t->defined()) *t = at::zeros({n}, embed_tokens.options());
    return any;
  };
  const int64_t h = config_.hidden_size, ffn = config_.intermediate_size;
  if (config_.qkv_bias) {  // qwen2: q/k/v biases are there; an o_proj bias makes it llama's attention_bias
    config_.attention_bias = complete([&](DecoderBlock& b) {
      return std::vector<std::pair<at::Tensor*, int64_t>>{{&b.o_proj.bias, h}};
    }, rests_with({"self_attn.o_proj.bias"}));
  } else {
    config_.attention_bias = complete([&](DecoderBlock& b) {
      return std::vector<std::pair<at::Tensor*, int64_t>>{{&b.q_proj.bias, config_.q_dim()}, {&b.k_proj.bias, config_.kv_dim()},
                                                          {&b.v_proj.bias, config_.kv_dim()}, {&b.o_proj.bias, h}};
    }, rests_with({"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias", "self_attn.o_proj.bias"}));
  }
  config_.mlp_bias = complete([&](DecoderBlock& b) {
    return std::vector<std::pair<at::Tensor*, int64_t>>{{&b.gate_proj.bias, ffn}, {&b.up_proj.bias, ffn}, {&b.down_proj.bias, h}};
  }, rests_with({"mlp.gate_proj.bias", "mlp.up_proj.bias", "mlp.down_proj.bias"}));
  config_.norm_bias = complete([&](DecoderBlock& b) {
    return std::vector<std::pair<at::Tensor*, int64_t>>{{&b.input_layernorm_bias, h}, {&b.post_attention_layernorm_bias, h}};
  }, rests_with({"input_layernorm.bias", "post_attention_layernorm.bias"}));
  config_.act_clip = blocks_saving_hook_tensors() > 0;
}

at::Device LlamaModel::device() const { return embed_tokens.device(); }
at::ScalarType LlamaModel::dtype() const { return embed_tokens.scalar_type(); }

std::vector<std::pair<std::string, at::Tensor*>> LlamaModel::named_tensors() {
  std::vector<std::pair<std::string, at::Tensor*>> out = {{"model.embed_tokens.weight", &embed_tokens}};
  for (size_t i = 0; i < blocks_.size(); ++i)
    if (!storage_ || block_in_memory(i))
      for (auto& [suffix, t] : blocks_[i].named_tensors())
      out.emplace_back(fmt::format("model.layers.{}.{}", i, suffix), t);
  out.emplace_back("model.norm.weight", &norm);
  if (!config_.tie_word_embeddings) out.emplace_back("lm_head.weight", &lm_head);
  return out;
}

}  // namespace ptq
