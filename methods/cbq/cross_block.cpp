#include "cbq/cross_block.h"

#include "cbq/window_schedule.h"
#include "recon/checkpoint_file.h"
#include "recon/let.h"
#include "recon/losses.h"
#include "run/progress.h"
#include "util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <map>

namespace ptq::methods::cbq {

namespace {

struct ChannelRange {
  at::Tensor max, min;
  void add(const at::Tensor& x) {
    const at::Tensor r = x.detach().reshape({-1, x.size(-1)}).to(at::kFloat);
    const at::Tensor mx = std::get<0>(r.max(0)), mn = std::get<0>(r.min(0));
    max = max.defined() ? at::maximum(max, mx) : mx;
    min = min.defined() ? at::minimum(min, mn) : mn;
  }
};

// CFP on one FP block whose inputs on the calibration windows are `x`: exact channel scaling of the
// three activation pairs, then per-row weight truncation. Logs what it found.
DecoderBlock cfp_block(const DecoderBlock& fp, const LlamaConfig& c, const at::Tensor& x, const RopeTables& rope,
                       int64_t batch, const CrossBlockOptions& o, nlohmann::json& log) {
  at::NoGradGuard no_grad;
  ChannelRange qkv_in, fc1_in, down_in;
  for (int64_t j = 0; j < x.size(0); j += batch) {
    const at::Tensor xb = x.narrow(0, j, std::min(batch, x.size(0) - j));
    const at::Tensor n1 = input_norm(fp, c, xb);
    const at::Tensor h = xb + attention_forward(fp, c, n1, rope);
    const at::Tensor n2 = post_attention_norm(fp, c, h);
    qkv_in.add(n1);
    fc1_in.add(n2);
    down_in.add(at::silu(fp.gate_proj(n2)) * fp.up_proj(n2));
  }
  const ActivationOutliers a1 = activation_outlier_scales(qkv_in.max, qkv_in.min, o.cfp_options);
  const ActivationOutliers a2 = activation_outlier_scales(fc1_in.max, fc1_in.min, o.cfp_options);
  const ActivationOutliers a3 = activation_outlier_scales(down_in.max, down_in.min, o.cfp_options);
  recon::LetParams p;  // the scales in LET's form: the norm divided by s, the consuming columns times s
  p.qkv_scale = a1.scale.to(fp.input_layernorm.scalar_type());
  p.fc1_scale = a2.scale.to(fp.input_layernorm.scalar_type());
  p.out_scale = at::ones({c.kv_dim()}, p.qkv_scale.options());
  DecoderBlock b = recon::let_transform(fp, c, p);
  // up -> down: SiLU(gate) * up is linear in up, so up's rows / s and down's columns * s is exact.
  const at::Tensor s3 = a3.scale.to(fp.up_proj.weight.scalar_type());
  b.up_proj.weight = b.up_proj.weight / s3.unsqueeze(1);
  if (b.up_proj.bias.defined()) b.up_proj.bias = b.up_proj.bias / s3;
  b.down_proj.weight = b.down_proj.weight * s3.unsqueeze(0);
  int64_t truncated = 0;
  if (o.cfp_weights)
    for (Linear* l : b.linears())
      truncated += truncate_weight_outliers(l->weight, o.cfp_options);
  const auto count = [](const ActivationOutliers& a) { return a.positive.size() + a.negative.size(); };
  log = {{"outlier_channels", {{"qkv_input", count(a1)}, {"gate_up_input", count(a2)}, {"down_input", count(a3)}}},
         {"truncated_weights", truncated}};
  return b;
}

using Named = std::vector<std::pair<std::string, at::Tensor>>;

// What a finished window leaves behind: its hardened blocks (all tensors, their scales) and the learned
// state of the blocks that stay in flight.
struct WindowCheckpoint {
  std::map<int64_t, DecoderBlock> hardened;
  Named qparams;
  std::map<int64_t, std::map<std::string, at::Tensor>> in_flight;
  recon::BlockLog log;
};

std::string window_path(const recon::ReconOptions& o, size_t w) {
  return (std::filesystem::path(o.checkpoint_dir) / fmt::format("window_{}.safetensors", w)).string();
}

void save_window(const recon::ReconOptions& o, size_t w, const WindowCheckpoint& c) {
  if (o.checkpoint_dir.empty()) return;
  Named tensors = c.qparams;
  for (auto [b, block] : c.hardened)
    for (auto& [name, t] : block.named_tensors()) tensors.emplace_back(fmt::format("hardened.{}.{}", b, name), *t);
  for (const auto& [b, state] : c.in_flight)
    for (const auto& [name, t] : state) tensors.emplace_back(fmt::format("state.{}.{}", b, name), t);
  recon::write_checkpoint_file(window_path(o, w), o, tensors, c.log);
}

// The checkpoint of window `w`, if there is one. `hardened` blocks are filled into copies of `shape`.
bool load_window(const recon::ReconOptions& o, size_t w, const Window& win, const std::map<int64_t, DecoderBlock>& shape,
                 WindowCheckpoint& c) {
  if (o.checkpoint_dir.empty()) return false;
  const std::string path = window_path(o, w);
  std::map<std::string, at::Tensor> all;
  if (!recon::read_checkpoint_file(path, o, all, c.log)) return false;
  const auto take = [&](const std::string& name) {
    const auto it = all.find(name);
    if (it == all.end()) throw InputError(fmt::format("{}: no tensor {} (expected a CBQ window checkpoint)", path, name));
    return it->second;
  };
  for (int64_t b : win.hardened) {
    DecoderBlock block = shape.at(b);
    const std::string prefix = fmt::format("hardened.{}.", b);
    // Optional tensors the hardened block may carry beyond the FP block's (learned activation clipping,
    // biases): give them slots so that named_tensors() lists them.
    const auto slot = [&](at::Tensor& t, const std::string& name) {
      if (!t.defined() && all.count(prefix + name)) t = at::empty({0}, block.input_layernorm.options());
    };
    slot(block.act_clip, "ptqbench_act_clip");
    slot(block.input_layernorm_bias, "input_layernorm.bias");
    slot(block.post_attention_layernorm_bias, "post_attention_layernorm.bias");
    const auto ls = block.linears();
    for (size_t k = 0; k < ls.size(); ++k) slot(ls[k]->bias, std::string(DecoderBlock::kLinearNames[k]) + ".bias");
    for (auto& [name, t] : block.named_tensors()) *t = take(prefix + name).to(block.input_layernorm.options());
    c.hardened[b] = block;
  }
  for (const auto& [name, t] : all) {
    if (name.rfind("hardened.", 0) == 0) continue;
    if (name.rfind("state.", 0) == 0) {
      const size_t dot = name.find('.', 6);
      c.in_flight[std::stoll(name.substr(6, dot - 6))][name.substr(dot + 1)] = t;
    } else {
      c.qparams.emplace_back(name, t);
    }
  }
  return true;
}

}  // namespace

at::Tensor homologous_distance(const at::Tensor& q, const at::Tensor& fp, double kl_weight) {
  at::Tensor e = at::mse_loss(q, fp);
  return kl_weight > 0 ? e + kl_weight * recon::hidden_softmax_kl(q, fp) : e;
}

nlohmann::json cross_block_reconstruct(LlamaModel& model, const at::Tensor& calibration, const CrossBlockOptions& o,
                                       std::vector<std::pair<std::string, at::Tensor>>& qparams) {
  if (calibration.dim() != 2) throw InputError("calibration windows must be [n, seqlen] token ids");
  const recon::ReconOptions& t = o.train;
  const int64_t n = calibration.size(0), bs = t.batch_size;
  if (bs < 1 || n % bs != 0) throw InputError(fmt::format("batch_size {} must divide the {} calibration windows", bs, n));
  const LlamaConfig& cfg = model.config();
  const RopeTables rope = model.rope(calibration.size(1));
  const auto schedule = window_schedule(static_cast<int64_t>(model.blocks.size()), o.window, o.overlap);
  // fp32_block (8-bit quantizers on CUDA): activations, FP targets and the trained blocks in float32.
  const at::ScalarType work_dtype = t.precision.fp32_block ? at::kFloat : model.dtype();
  const auto cast = [](DecoderBlock b, at::ScalarType type) {
    b.cast(type);
    return b;
  };
  at::Tensor x_fp, x_q;
  {
    at::NoGradGuard no_grad;
    x_fp = model.embed(calibration.to(model.device())).to(work_dtype);
    x_q = x_fp.clone();
  }
  const int64_t steps_per_window = t.epochs * (n / bs);
  Progress progress("cbq", static_cast<int64_t>(schedule.size()) * steps_per_window, 10.0);
  int64_t done = 0;
  std::map<int64_t, std::unique_ptr<CbqBlockParts>> parts;
  std::map<int64_t, DecoderBlock> fp_blocks;  // the original FP blocks of the window (targets)
  nlohmann::json windows = nlohmann::json::array(), cfp_log = nlohmann::json::object();
  int64_t rounding_parameters = 0;
  for (size_t w = 0; w < schedule.size(); ++w) {
    const Window& win = schedule[w];
    const auto t0 = std::chrono::steady_clock::now();
    const std::string where = fmt::format("window [{}..{}]", win.blocks.front(), win.blocks.back());
    at::Tensor t1, t2;
    {
      at::NoGradGuard no_grad;
      at::Tensor h = x_fp;
      for (int64_t b : win.blocks) {
        if (!parts.count(b)) {  // first time in a window: CFP on its FP inputs, then fresh parts
          fp_blocks[b] = cast(model.block(static_cast<size_t>(b)), work_dtype);  // streamed: read now
          nlohmann::json log;
          const DecoderBlock pre = o.cfp ? cfp_block(fp_blocks[b], cfg, h, rope, bs, o, log) : fp_blocks[b];
          if (o.cfp) cfp_log[std::to_string(b)] = log;
          parts[b] = std::make_unique<CbqBlockParts>(pre, o.parts);
          rounding_parameters += parts[b]->rounding_parameters();
        }
        h = recon::map_batches(h, bs, [&](const at::Tensor& x) { return decoder_block_forward(fp_blocks[b], cfg, x, rope); });
      }
      t1 = h;
      if (o.homologous_weight > 0) {
        h = x_q;
        for (int64_t b : win.blocks)
          h = recon::map_batches(h, bs, [&](const at::Tensor& x) { return decoder_block_forward(fp_blocks[b], cfg, x, rope); });
        t2 = h;
      }
    }
    WindowCheckpoint saved;
    recon::BlockLog log;
    if (t.epochs > 0 && load_window(t, w, win, fp_blocks, saved)) {
      log = saved.log;
      for (auto& [b, state] : saved.in_flight) parts.at(b)->load_state(state);
      done += steps_per_window;
    } else if (t.epochs > 0) {
      std::vector<train::ParamGroup> groups;
      std::map<int64_t, Named> at_start;  // the NaN fallback: the window's parameters as they came in
      for (int64_t b : win.blocks) {
        for (auto& g : parts[b]->param_groups()) groups.push_back(g);
        at_start[b] = parts[b]->state();
      }
      const recon::StepLossFn step_loss = [&](int64_t j, int64_t step) {
        const double beta = rounding_beta(static_cast<double>(step) / static_cast<double>(steps_per_window), o.warmup,
                                          o.beta_start, o.beta_end);
        at::Tensor out = x_q.narrow(0, j, bs);
        at::Tensor reg = at::zeros({}, at::kFloat);
        for (int64_t b : win.blocks) {
          out = decoder_block_forward(parts[b]->temporary_block(), cfg, out, rope, model.act_quant);
          reg = reg + parts[b]->regularizer(beta);
        }
        at::Tensor loss = homologous_distance(out, t1.narrow(0, j, bs), o.kl_weight);
        if (o.homologous_weight > 0) loss = loss + o.homologous_weight * homologous_distance(out, t2.narrow(0, j, bs), o.kl_weight);
        const double rec = loss.item<double>();
        return recon::StepLoss{loss + o.rounding_weight * reg / static_cast<double>(win.blocks.size()), rec};
      };
      log = recon::train_steps(groups, n, step_loss, where, where, t.nan_policy == "skip-block", t, progress, done);
      if (!log.skipped.empty())
        for (int64_t b : win.blocks) {
          std::map<std::string, at::Tensor> state(at_start[b].begin(), at_start[b].end());
          parts[b]->load_state(state);
        }
    }
    {
      at::NoGradGuard no_grad;
      for (int64_t b : win.hardened) {
        x_fp = recon::map_batches(x_fp, bs, [&](const at::Tensor& x) { return decoder_block_forward(fp_blocks[b], cfg, x, rope); });
        const std::string prefix = fmt::format("model.layers.{}.", b);
        DecoderBlock hard;
        if (log.resumed) {
          hard = saved.hardened.at(b);
        } else {
          Named block_qparams;
          hard = parts[b]->hardened_block(prefix, block_qparams);
          saved.qparams.insert(saved.qparams.end(), block_qparams.begin(), block_qparams.end());
          saved.hardened[b] = hard;
        }
        x_q = recon::map_batches(x_q, bs, [&](const at::Tensor& x) { return decoder_block_forward(hard, cfg, x, rope, model.act_quant); });
        model.set_block(static_cast<size_t>(b), cast(hard, model.dtype()));
        parts.erase(b);
        fp_blocks.erase(b);
      }
      qparams.insert(qparams.end(), saved.qparams.begin(), saved.qparams.end());
      if (!log.resumed && log.skipped.empty() && t.epochs > 0) {
        saved.log = log;
        for (const auto& [b, p] : parts) {
          const Named s = p->state();
          saved.in_flight[b] = std::map<std::string, at::Tensor>(s.begin(), s.end());
        }
        save_window(t, w, saved);
      }
    }
    windows.push_back({{"blocks", win.blocks},
                       {"hardened", win.hardened},
                       {"first_epoch_loss", log.first_epoch_loss},
                       {"last_epoch_loss", log.last_epoch_loss},
                       {"resumed", log.resumed},
                       {"skipped", log.skipped.empty() ? nlohmann::json(nullptr) : nlohmann::json(log.skipped)},
                       {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  }
  if (t.progress) progress.finish(fmt::format("{} windows", schedule.size()));
  return {{"windows", windows}, {"cfp", cfp_log}, {"rounding_parameters", rounding_parameters}};
}

}  // namespace ptq::methods::cbq
