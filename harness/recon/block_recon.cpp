#include "recon/block_recon.h"

#include "model/block_reader.h"
#include "recon/activation_home.h"
#include "recon/checkpoint_file.h"
#include "io/sha256.h"
#include "run/progress.h"
#include "train/loss_scaler.h"
#include "util/errors.h"
#include "util/stop_request.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <cctype>
#include <cmath>

namespace ptq::recon {

namespace {

std::string checkpoint_path(const ReconOptions& o, size_t block) {
  return (std::filesystem::path(o.checkpoint_dir) / fmt::format("block_{}.safetensors", block)).string();
}

// Restores a block's parameters from its checkpoint; false when there is none.
bool load_checkpoint(const ReconOptions& o, size_t block, BlockParts& parts, BlockLog& log) {
  if (o.checkpoint_dir.empty()) return false;
  const std::string path = checkpoint_path(o, block);
  std::map<std::string, at::Tensor> state;
  if (!read_checkpoint_file(path, o, state, log)) return false;
  try {
    parts.load_state(state);
  } catch (const std::out_of_range&) {
    throw InputError(fmt::format("{}: does not hold this method's parameters", path));
  }
  return true;
}

void save_checkpoint(const ReconOptions& o, size_t block, const BlockParts& parts, const BlockLog& log) {
  if (!o.checkpoint_dir.empty()) write_checkpoint_file(checkpoint_path(o, block), o, parts.state(), log);
}

// Where train_steps stands: the next step to run and the running loss sum of its epoch.
struct LoopPosition {
  int epoch = 0;
  int64_t j = 0;     // first sample of the next batch
  int64_t step = 0;  // steps of the unit done so far
  double epoch_sum = 0;
};

// A unit stopped part-way (StopRequested): its parameters, the optimiser's and loss scaler's state and
// the loop position, so that the resumed run makes exactly the updates the uninterrupted one would.
void save_partial(const std::string& path, const ReconOptions& o, train::AdamW& opt, const train::DynamicLossScaler& scaler,
                  const LoopPosition& at, const BlockLog& log) {
  std::vector<std::pair<std::string, at::Tensor>> t = opt.state();
  for (size_t g = 0; g < opt.groups().size(); ++g)
    for (size_t i = 0; i < opt.groups()[g].params.size(); ++i)
      t.emplace_back(fmt::format("param.{}.{}", g, i), opt.groups()[g].params[i].detach());
  const std::vector<double> sc = scaler.state();
  t.emplace_back("loss_scaler", at::tensor(sc, at::kDouble));
  t.emplace_back("loop", at::tensor(std::vector<double>{static_cast<double>(at.epoch), static_cast<double>(at.j),
                                                        static_cast<double>(at.step), at.epoch_sum}, at::kDouble));
  write_checkpoint_file(path, o, t, log);
}

bool load_partial(const std::string& path, const ReconOptions& o, train::AdamW& opt, train::DynamicLossScaler& scaler,
                  LoopPosition& at, BlockLog& log) {
  std::map<std::string, at::Tensor> t;
  if (!read_checkpoint_file(path, o, t, log)) return false;
  try {
    at::NoGradGuard no_grad;
    for (size_t g = 0; g < opt.groups().size(); ++g)
      for (size_t i = 0; i < opt.groups()[g].params.size(); ++i) {
        at::Tensor& p = opt.groups()[g].params[i];
        const at::Tensor& v = t.at(fmt::format("param.{}.{}", g, i));
        if (v.sizes() != p.sizes()) throw InputError("parameter shapes differ");
        p.copy_(v);
      }
    opt.load_state(t);
    const at::Tensor sc = t.at("loss_scaler").to(at::kDouble).contiguous();
    scaler.load_state(std::vector<double>(sc.data_ptr<double>(), sc.data_ptr<double>() + sc.numel()));
    const at::Tensor loop = t.at("loop").to(at::kDouble).contiguous();
    at.epoch = static_cast<int>(loop[0].item<double>());
    at.j = static_cast<int64_t>(loop[1].item<double>());
    at.step = static_cast<int64_t>(loop[2].item<double>());
    at.epoch_sum = loop[3].item<double>();
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: not a partial state of this unit ({}); remove it to restart the unit", path,
                                 dynamic_cast<const std::out_of_range*>(&e) ? "a tensor is missing" : e.what()));
  }
  return true;
}

void remove_partial(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace

std::string partial_checkpoint_path(const std::string& checkpoint_dir, const std::string& unit) {
  std::string slug;
  for (const char c : unit) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      slug += c;
    else if (!slug.empty() && slug.back() != '_')
      slug += '_';
  }
  while (!slug.empty() && slug.back() == '_') slug.pop_back();
  return (std::filesystem::path(checkpoint_dir) / ("partial_" + slug + ".safetensors")).string();
}

std::string checkpoint_key(const std::string& setting, const nlohmann::json& config, const at::Tensor& calibration) {
  const at::Tensor w = calibration.to(at::kLong).contiguous();
  const std::string windows = io::sha256_hex(std::string_view(static_cast<const char*>(w.data_ptr()), w.numel() * sizeof(int64_t)));
  return io::sha256_hex(setting + "|" + config.dump() + "|" + windows).substr(0, 16);
}

at::Tensor map_batches(const at::Tensor& x, int64_t batch, const std::function<at::Tensor(const at::Tensor&)>& f,
                       c10::optional<at::Device> compute) {
  const at::Device dev = compute.value_or(x.device());
  // Results go straight into one tensor where x lives (pinned when x is): no list of batch results to
  // concatenate, which would hold the activations twice at the peak.
  at::Tensor out;
  for (int64_t j = 0; j < x.size(0); j += batch) {
    const int64_t b = std::min(batch, x.size(0) - j);
    const at::Tensor r = f(x.narrow(0, j, b).to(dev, /*non_blocking=*/true));
    if (!out.defined()) {
      std::vector<int64_t> sizes = r.sizes().vec();
      sizes[0] = x.size(0);
      out = at::empty(sizes, r.options().device(x.device()).pinned_memory(x.is_pinned()));
    }
    out.narrow(0, j, b).copy_(r);
  }
  return out;
}

nlohmann::json ReconReport::to_json() const {
  nlohmann::json b = nlohmann::json::array();
  for (const auto& l : blocks)
    b.push_back({{"first_epoch_loss", l.first_epoch_loss}, {"last_epoch_loss", l.last_epoch_loss}, {"seconds", l.seconds},
                 {"resumed", l.resumed}, {"skipped", l.skipped.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.skipped)}});
  return {{"blocks", b}};
}

BlockLog train_steps(const std::vector<train::ParamGroup>& groups, int64_t n, const StepLossFn& step_loss,
                     const std::string& where, const std::string& label, bool can_skip, const ReconOptions& o,
                     Progress& progress, int64_t& done) {
  BlockLog log;
  if (o.batch_size < 1 || n % o.batch_size != 0)
    throw InputError(fmt::format("batch_size {} must divide the {} training samples", o.batch_size, n));
  const int64_t steps_per_epoch = n / o.batch_size;
  train::AdamW opt(groups);
  std::vector<at::Tensor> params;
  for (const auto& g : opt.groups()) params.insert(params.end(), g.params.begin(), g.params.end());
  train::DynamicLossScaler scaler;
  LoopPosition at;
  const std::string partial = o.checkpoint_dir.empty() ? "" : partial_checkpoint_path(o.checkpoint_dir, where);
  if (!partial.empty() && load_partial(partial, o, opt, scaler, at, log)) {
    done += at.epoch * steps_per_epoch + at.j / o.batch_size;
    progress.note(fmt::format("{}: resuming at epoch {} step {} ({})", where, at.epoch + 1, at.j / o.batch_size, partial));
  }
  for (; at.epoch < o.epochs; ++at.epoch, at.j = 0, at.epoch_sum = 0) {
    for (; at.j < n; at.j += o.batch_size, ++at.step) {
      if (const int sig = stop_signal()) {  // preemption: save this unit where it stands, then stop
        if (!partial.empty()) save_partial(partial, o, opt, scaler, at, log);
        throw StopRequested(fmt::format("{} epoch {} step {}: stopped on {}; {}", where, at.epoch + 1,
                                        at.j / o.batch_size, signal_name(sig),
                                        partial.empty() ? "no checkpoint directory, the unit restarts" : "state saved to " + partial));
      }
      at::AutoGradMode grad(true);
      StepLoss s;
      {
        const AutocastGuard autocast(o.precision.autocast);
        s = step_loss(at.j, at.step);
      }
      const double l = s.loss.item<double>();
      if (!std::isfinite(l)) {
        const std::string what = fmt::format("{} epoch {} step {}: loss is {} (NaN/Inf)", where, at.epoch, at.j / o.batch_size, l);
        if (!can_skip) throw std::runtime_error(what + "; nan_policy \"skip-block\" keeps the fallback (RTN) for such blocks");
        log.skipped = what;
        progress.note(fmt::format("warning: {}: {} keeps the fallback (nan_policy skip-block)", what, where));
        done += (o.epochs - at.epoch) * steps_per_epoch - at.j / o.batch_size;
        remove_partial(partial);
        return log;
      }
      opt.zero_grad();
      if (o.precision.loss_scaling) {  // GradScaler: scaled backward, unscale, skip the step on overflow
        scaler.scale(s.loss).backward();
        const bool finite = scaler.unscale(params);
        if (finite) opt.step();
        scaler.update(!finite);
      } else {
        s.loss.backward();
        opt.step();
      }
      at.epoch_sum += std::isnan(s.logged) ? l : s.logged;
      ++done;
      if (o.progress) progress.update(done, fmt::format("{} epoch {}/{} loss {:.3g}", label, at.epoch + 1, o.epochs, l));
    }
    const double mean = at.epoch_sum / static_cast<double>(steps_per_epoch);
    if (at.epoch == 0) log.first_epoch_loss = mean;
    log.last_epoch_loss = mean;
  }
  remove_partial(partial);
  log.resumed = false;  // trained here (possibly continued from a partial state)
  return log;
}

BlockLog train_block(BlockParts& parts, const DecoderBlock& block, size_t i, size_t num_blocks, const LlamaConfig& cfg,
                     const at::Tensor& x_q, const at::Tensor& target, const at::Tensor& target_2, const RopeTables& rope,
                     const quant::ActivationQuant& aq, const ReconOptions& o, Progress& progress, int64_t& done) {
  const int64_t bs = o.batch_size;
  const at::Device dev = block.q_proj.weight.device();  // activations may be at home on the host
  const StepLossFn step_loss = [&](int64_t j, int64_t) {
    parts.before_step();
    const DecoderBlock t = parts.temporary_block(block);
    const at::Tensor out = decoder_block_forward(t, cfg, x_q.narrow(0, j, bs).to(dev, true), rope, aq);
    const at::Tensor y = target.narrow(0, j, bs).to(dev, true);
    at::Tensor loss = o.loss ? o.loss(out, y) : at::mse_loss(out, y);
    if (o.aug_loss) loss = loss + at::mse_loss(out, target_2.narrow(0, j, bs).to(dev, true));
    return StepLoss{loss};
  };
  return train_steps(parts.param_groups(), x_q.size(0), step_loss, fmt::format("block {}", i),
                     fmt::format("block {}/{}", i + 1, num_blocks), o.nan_policy == "skip-block" && o.fallback_fold, o,
                     progress, done);
}

ReconReport reconstruct(LlamaModel& model, const at::Tensor& calibration, const PartsFactory& make_parts,
                        const ReconOptions& o) {
  ReconReport report;
  if (calibration.numel() == 0) {  // nothing to learn from: the parts at their initial values
    if (o.epochs > 0) throw InputError("block reconstruction needs calibration windows");
    const RopeTables rope = model.rope(1);
    const at::Tensor none;
    for (size_t i = 0; i < model.blocks.size(); ++i) {
      DecoderBlock block = model.block(i);
      const BlockInputs in{block, i, model.config(), none, rope, o.batch_size};
      make_parts(in)->fold(block, fmt::format("model.layers.{}.", i), report.qparams);
      model.set_block(i, std::move(block));
      report.blocks.push_back({});
    }
    return report;
  }
  if (calibration.dim() != 2) throw InputError("calibration windows must be [n, seqlen] token ids");
  const int64_t n = calibration.size(0), seqlen = calibration.size(1);
  if (o.batch_size < 1 || n % o.batch_size != 0)
    throw InputError(fmt::format("batch_size {} must divide the {} calibration windows", o.batch_size, n));
  if (seqlen > model.config().max_position_embeddings)
    throw InputError(fmt::format("calibration seqlen {} exceeds max_position_embeddings {}", seqlen,
                                 model.config().max_position_embeddings));
  const RopeTables rope = model.rope(seqlen);
  const LlamaConfig& cfg = model.config();
  const at::Device dev = model.device();
  at::Tensor x_fp, x_q;
  std::string placement_note;
  {
    at::NoGradGuard no_grad;
    x_fp = model.embed(calibration.to(dev));
    if (o.precision.fp32_block) x_fp = x_fp.to(at::kFloat);
    // x_fp, x_q, the target (and target_2) live side by side.
    const int64_t bytes = x_fp.numel() * x_fp.element_size() * (o.aug_loss ? 4 : 3);
    const ActivationHome home = choose_activation_home(o.activations, dev, bytes, free_device_bytes(dev));
    if (home == ActivationHome::kHost)
      placement_note = fmt::format("calibration activations ({:.1f} GB) kept in pinned host memory (activations: {})",
                                   static_cast<double>(bytes) / 1e9, o.activations);
    x_q = home == ActivationHome::kHost ? to_home(x_fp, home, dev) : x_fp.clone();  // both pinned on the host
    x_fp = to_home(x_fp, home, dev);
  }
  const at::ScalarType model_dtype = model.dtype();
  const int64_t steps_per_epoch = n / o.batch_size;
  Progress progress("reconstruct", static_cast<int64_t>(model.blocks.size()) * o.epochs * steps_per_epoch, 10.0);
  if (!placement_note.empty() && o.progress) progress.note(placement_note);
  int64_t done = 0;
  BlockReader reader(model, 0, model.blocks.size());  // streamed: block i+1 is read while block i trains
  for (size_t i = 0; i < model.blocks.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    DecoderBlock block = reader.next();  // streamed: stored back (spilled) below
    if (o.precision.fp32_block) block.cast(at::kFloat);
    at::Tensor target, target_2;
    {
      at::NoGradGuard no_grad;
      const auto fp_forward = [&](const at::Tensor& x) { return decoder_block_forward(block, cfg, x, rope); };
      target = map_batches(x_fp, o.batch_size, fp_forward, dev);
      if (o.aug_loss && o.epochs > 0) target_2 = map_batches(x_q, o.batch_size, fp_forward, dev);
    }
    std::unique_ptr<BlockParts> parts = make_parts(BlockInputs{block, i, cfg, x_fp, rope, o.batch_size});
    BlockLog log;
    if (o.epochs == 0) {
      // no training: the parts' initial values (e.g. LET's SmoothQuant scales from x_fp)
    } else if (load_checkpoint(o, i, *parts, log)) {
      done += o.epochs * steps_per_epoch;
    } else {
      log = train_block(*parts, block, i, model.blocks.size(), cfg, x_q, target, target_2, rope, model.act_quant, o, progress,
                        done);
      if (log.skipped.empty()) save_checkpoint(o, i, *parts, log);
    }
    if (log.skipped.empty())
      parts->fold(block, fmt::format("model.layers.{}.", i), report.qparams);
    else
      o.fallback_fold(block, fmt::format("model.layers.{}.", i), report.qparams);
    if (o.epochs > 0) {  // the next block trains on the quantized path; without training nobody reads it
      at::NoGradGuard no_grad;
      x_q = map_batches(
          x_q, o.batch_size, [&](const at::Tensor& x) { return decoder_block_forward(block, cfg, x, rope, model.act_quant); },
          dev);
    }
    if (o.precision.fp32_block) block.cast(model_dtype);
    model.set_block(i, std::move(block));
    x_fp = target;
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report.blocks.push_back(log);
  }
  if (o.progress) progress.finish(fmt::format("{} blocks", model.blocks.size()));
  return report;
}

}  // namespace ptq::recon
