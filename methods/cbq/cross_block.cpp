#include "cbq/cross_block.h"

#include "cbq/window_schedule.h"
#include "recon/block_recon.h"
#include "recon/let.h"
#include "run/progress.h"
#include "util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <functional>
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
    for (Linear* l : {&b.q_proj, &b.k_proj, &b.v_proj, &b.o_proj, &b.gate_proj, &b.up_proj, &b.down_proj})
      truncated += truncate_weight_outliers(l->weight, o.cfp_options);
  const auto count = [](const ActivationOutliers& a) { return a.positive.size() + a.negative.size(); };
  log = {{"outlier_channels", {{"qkv_input", count(a1)}, {"gate_up_input", count(a2)}, {"down_input", count(a3)}}},
         {"truncated_weights", truncated}};
  return b;
}

}  // namespace

at::Tensor homologous_distance(const at::Tensor& q, const at::Tensor& fp, double kl_weight) {
  at::Tensor e = at::mse_loss(q, fp);
  if (kl_weight > 0) {
    const at::Tensor lp = at::log_softmax(fp.to(at::kFloat), -1), lq = at::log_softmax(q.to(at::kFloat), -1);
    e = e + kl_weight * (lp.exp() * (lp - lq)).sum(-1).mean();
  }
  return e;
}

nlohmann::json cross_block_reconstruct(LlamaModel& model, const at::Tensor& calibration, const CrossBlockOptions& o,
                                       std::vector<std::pair<std::string, at::Tensor>>& qparams) {
  if (calibration.dim() != 2) throw InputError("calibration windows must be [n, seqlen] token ids");
  const int64_t n = calibration.size(0), bs = o.batch_size;
  if (bs < 1 || n % bs != 0) throw InputError(fmt::format("batch_size {} must divide the {} calibration windows", bs, n));
  const LlamaConfig& cfg = model.config();
  const RopeTables rope = model.rope(calibration.size(1));
  const auto schedule = window_schedule(static_cast<int64_t>(model.blocks.size()), o.window, o.overlap);
  at::Tensor x_fp, x_q;
  {
    at::NoGradGuard no_grad;
    x_fp = model.embed(calibration.to(model.device()));
    x_q = x_fp.clone();
  }
  const int64_t steps_per_window = o.epochs * (n / bs);
  Progress progress("cbq", static_cast<int64_t>(schedule.size()) * steps_per_window, 10.0);
  int64_t done = 0;
  std::map<int64_t, std::unique_ptr<CbqBlockParts>> parts;
  std::map<int64_t, DecoderBlock> fp_blocks;  // the original FP blocks of the window (targets)
  nlohmann::json windows = nlohmann::json::array(), cfp_log = nlohmann::json::object();
  int64_t rounding_parameters = 0;
  for (const Window& win : schedule) {
    const auto t0 = std::chrono::steady_clock::now();
    at::Tensor t1, t2;
    {
      at::NoGradGuard no_grad;
      at::Tensor h = x_fp;
      for (int64_t b : win.blocks) {
        if (!parts.count(b)) {  // first time in a window: CFP on its FP inputs, then fresh parts
          fp_blocks[b] = model.blocks[static_cast<size_t>(b)];
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
    std::vector<train::ParamGroup> groups;
    for (int64_t b : win.blocks)
      for (auto& g : parts[b]->param_groups()) groups.push_back(g);
    train::AdamW opt(groups);
    double first = 0, last = 0;
    int64_t step = 0;
    for (int epoch = 0; epoch < o.epochs; ++epoch) {
      double sum = 0;
      for (int64_t j = 0; j < n; j += bs) {
        at::AutoGradMode grad(true);
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
        loss = loss + o.rounding_weight * reg / static_cast<double>(win.blocks.size());
        const double l = loss.item<double>();
        if (!std::isfinite(l))
          throw std::runtime_error(fmt::format("window [{}..{}] epoch {} step {}: loss is {} (NaN/Inf)", win.blocks.front(),
                                               win.blocks.back(), epoch, j / bs, l));
        opt.zero_grad();
        loss.backward();
        opt.step();
        sum += rec;
        ++step;
        ++done;
        if (o.progress)
          progress.update(done, fmt::format("window [{}..{}] epoch {}/{} loss {:.3g}", win.blocks.front(), win.blocks.back(),
                                            epoch + 1, o.epochs, l));
      }
      const double mean = sum / static_cast<double>(n / bs);
      if (epoch == 0) first = mean;
      last = mean;
    }
    {
      at::NoGradGuard no_grad;
      for (int64_t b : win.hardened) {
        x_fp = recon::map_batches(x_fp, bs, [&](const at::Tensor& x) { return decoder_block_forward(fp_blocks[b], cfg, x, rope); });
        model.blocks[static_cast<size_t>(b)] = parts[b]->hardened_block(fmt::format("model.layers.{}.", b), qparams);
        x_q = recon::map_batches(x_q, bs, [&](const at::Tensor& x) {
          return decoder_block_forward(model.blocks[static_cast<size_t>(b)], cfg, x, rope, model.act_quant);
        });
        parts.erase(b);
        fp_blocks.erase(b);
      }
    }
    windows.push_back({{"blocks", win.blocks},
                       {"hardened", win.hardened},
                       {"first_epoch_loss", first},
                       {"last_epoch_loss", last},
                       {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  }
  if (o.progress) progress.finish(fmt::format("{} windows", schedule.size()));
  return {{"windows", windows}, {"cfp", cfp_log}, {"rounding_parameters", rounding_parameters}};
}

}  // namespace ptq::methods::cbq
