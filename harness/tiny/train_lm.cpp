#include "harness/tiny/train_lm.h"

#include "harness/recon/adamw.h"
#include "harness/util/errors.h"
#include "harness/util/progress.h"
#include "harness/util/py_random.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>

namespace ptq::tiny {

LlamaModel init_llama(const LlamaConfig& c, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double out_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.num_hidden_layers));
  const auto normal = [&](std::vector<int64_t> shape, double std) { return at::normal(0.0, std, shape, gen); };
  LlamaModel m(c);
  m.embed_tokens = normal({c.vocab_size, c.hidden_size}, 0.02);
  for (size_t i = 0; i < m.num_blocks(); ++i) {
    DecoderBlock& b = m.block_in_place(i);
    b.input_layernorm = at::ones({c.hidden_size});
    b.post_attention_layernorm = at::ones({c.hidden_size});
    b.q_proj.weight = normal({c.q_dim(), c.hidden_size}, 0.02);
    b.k_proj.weight = normal({c.kv_dim(), c.hidden_size}, 0.02);
    b.v_proj.weight = normal({c.kv_dim(), c.hidden_size}, 0.02);
    b.o_proj.weight = normal({c.hidden_size, c.q_dim()}, out_std);
    b.gate_proj.weight = normal({c.intermediate_size, c.hidden_size}, 0.02);
    b.up_proj.weight = normal({c.intermediate_size, c.hidden_size}, 0.02);
    b.down_proj.weight = normal({c.hidden_size, c.intermediate_size}, out_std);
  }
  m.norm = at::ones({c.hidden_size});
  m.lm_head = c.tie_word_embeddings ? m.embed_tokens : normal({c.vocab_size, c.hidden_size}, 0.02);
  return m;
}

TrainReport train_lm(LlamaModel& model, const at::Tensor& ids, const TrainConfig& cfg) {
  const int64_t n = ids.numel();
  if (n < cfg.seqlen + 2)
    throw InputError(fmt::format("training stream has {} tokens, fewer than one window of {}", n, cfg.seqlen + 1));
  train::ParamGroup decayed{{}, cfg.lr, cfg.weight_decay}, plain{{}, cfg.lr, 0.0};
  std::vector<at::Tensor> all;
  for (auto& [name, t] : model.named_tensors()) {
    t->set_requires_grad(true);
    all.push_back(*t);
    const bool is_linear = name.find("_proj.weight") != std::string::npos || name == "lm_head.weight";
    (is_linear ? decayed : plain).params.push_back(*t);
  }
  train::AdamW opt({decayed, plain}, cfg.beta1, cfg.beta2);
  PyRandom rng(static_cast<int64_t>(cfg.seed));
  const RopeTables rope = model.rope(cfg.seqlen);
  const int64_t vocab = model.config().vocab_size;
  TrainReport report;
  Progress progress("train", cfg.steps, 10.0);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < cfg.steps; ++step) {
    at::Tensor batch = at::empty({cfg.batch, cfg.seqlen + 1}, at::kLong);
    for (int64_t b = 0; b < cfg.batch; ++b)
      batch[b].copy_(ids.narrow(0, rng.randint(0, n - cfg.seqlen - 2), cfg.seqlen + 1));
    at::Tensor h = model.embed(batch.narrow(1, 0, cfg.seqlen));
    for (size_t i = 0; i < model.num_blocks(); ++i) h = model.block_forward(i, h, rope);
    const at::Tensor loss = at::cross_entropy_loss(model.logits(h).reshape({-1, vocab}),
                                                   batch.narrow(1, 1, cfg.seqlen).reshape({-1}));
    opt.zero_grad();
    loss.backward();
    train::clip_grad_norm(all, cfg.clip);
    // Linear warm-up, then cosine decay from lr to lr * min_lr_ratio.
    double scale;
    if (step < cfg.warmup) {
      scale = static_cast<double>(step + 1) / static_cast<double>(cfg.warmup);
    } else {
      const double t = static_cast<double>(step - cfg.warmup) / static_cast<double>(std::max<int64_t>(1, cfg.steps - cfg.warmup));
      scale = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * t));
    }
    opt.step(scale);
    const double l = loss.item<double>();
    if (!std::isfinite(l)) throw std::runtime_error(fmt::format("training diverged at step {} (loss {})", step, l));
    report.losses.push_back(l);
    progress.update(step + 1, fmt::format("loss {:.4f}", l));
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish(fmt::format("loss {:.4f}", report.losses.back()));
  for (auto& [name, t] : model.named_tensors()) {
    *t = t->detach();
    t->set_requires_grad(false);
  }
  if (model.config().tie_word_embeddings) model.lm_head = model.embed_tokens;
  return report;
}

}  // namespace ptq::tiny
