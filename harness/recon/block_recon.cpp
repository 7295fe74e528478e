#include "harness/recon/block_recon.h"

#include "harness/io/sha256.h"
#include "harness/model/activation_home.h"
#include "harness/model/block_reader.h"
#include "harness/recon/checkpoint_file.h"
#include "harness/recon/train_loop.h"
#include "harness/recon/window_schedule.h"
#include "harness/util/errors.h"
#include "harness/util/parallel_tasks.h"
#include "harness/util/progress.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

namespace ptq::recon {

namespace {

bool block_wise(const Window& w) { return w.blocks.size() == 1; }

// A unit is a block when K = 1 ("block 3", checkpoint block_3), a window otherwise ("window [3..4]",
// checkpoint window_<index in the schedule>): the names of the checkpoints and of the partial states.
std::string unit_name(const Window& w) {
  return block_wise(w) ? fmt::format("block {}", w.blocks[0]) : fmt::format("window [{}..{}]", w.blocks.front(), w.blocks.back());
}

std::string unit_label(const Window& w, size_t num_blocks) {
  return block_wise(w) ? fmt::format("block {}/{}", w.blocks[0] + 1, num_blocks) : unit_name(w);
}

std::string unit_checkpoint_path(const ReconOptions& o, const Window& w, size_t index) {
  const std::string file = block_wise(w) ? fmt::format("block_{}.safetensors", w.blocks[0]) : fmt::format("window_{}.safetensors", index);
  return (std::filesystem::path(o.checkpoint_dir) / file).string();
}

// In a unit's checkpoint, each block's state under its own names (K = 1) or "state.<block>.<name>".
std::string state_prefix(const Window& w, int64_t b) { return block_wise(w) ? "" : fmt::format("state.{}.", b); }

std::map<std::string, at::Tensor> cloned(const Named& state) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : state) out[name] = t.detach().clone();
  return out;
}

}  // namespace

std::string checkpoint_key(const std::string& setting, const nlohmann::json& config, const at::Tensor& calibration) {
  const at::Tensor w = calibration.to(at::kLong).contiguous();
  const std::string windows = io::sha256_hex(std::string_view(static_cast<const char*>(w.data_ptr()), w.numel() * sizeof(int64_t)));
  return io::sha256_hex(setting + "|" + config.dump() + "|" + windows).substr(0, 16);
}

ReconOptions closed_form_options(const std::string& method, const LlamaModel& model, const quant::QuantSetting& setting,
                                 const quant::MethodContext& ctx) {
  if (ctx.calibration == nullptr || !ctx.calibration->defined() || ctx.calibration->numel() == 0)
    throw InputError(fmt::format("{} needs calibration windows", method));
  ReconOptions o;
  o.epochs = 0;  // closed form: no optimiser
  o.progress = ctx.progress;
  o.activations = ctx.activations;
  o.precision = precision_policy(setting, model.device(), model.dtype());
  return o;
}

at::Tensor map_batches(const at::Tensor& x, int64_t batch, const std::function<at::Tensor(const at::Tensor&)>& f,
                       c10::optional<at::Device> compute) {
  const at::Device dev = compute.value_or(x.device());
  // Results go straight into one tensor where x lives (pinned when x is): no list of batch results to
  // concatenate, which would hold the activations twice at the peak.
  at::Tensor out;
  if (x.size(0) == 0) return out;
  const auto result_of = [&](int64_t j) { return f(x.narrow(0, j, std::min(batch, x.size(0) - j)).to(dev, /*non_blocking=*/true)); };
  const auto run = [&](int64_t j) {
    const at::Tensor r = result_of(j);
    out.narrow(0, j, r.size(0)).copy_(r);
  };
  const at::Tensor first = result_of(0);  // its shape and dtype size `out`
  std::vector<int64_t> sizes = first.sizes().vec();
  sizes[0] = x.size(0);
  out = at::empty(sizes, first.options().device(x.device()).pinned_memory(x.is_pinned()));
  out.narrow(0, 0, first.size(0)).copy_(first);
  const int64_t batches = (x.size(0) + batch - 1) / batch;
  // Without a graph on the CPU, the other batches run side by side, each computed as it would be alone
  // (util/parallel_tasks.h: the same bits); a graph, or a device, keeps them in order.
  if (!c10::GradMode::is_enabled() && dev.is_cpu() && x.device().is_cpu())
    run_tasks(batches - 1, [&](int64_t i) { run((i + 1) * batch); });
  else
    for (int64_t i = 1; i < batches; ++i) run(i * batch);
  return out;
}

nlohmann::json ReconReport::to_json() const {
  const bool windows = std::any_of(units.begin(), units.end(), [](const UnitLog& u) { return u.blocks.size() > 1; });
  nlohmann::json out = nlohmann::json::array();
  for (const auto& u : units) {
    const BlockLog& l = u.log;
    nlohmann::json j = {{"first_epoch_loss", l.first_epoch_loss}, {"last_epoch_loss", l.last_epoch_loss}, {"seconds", l.seconds},
                        {"resumed", l.resumed}, {"skipped", l.skipped.empty() ? nlohmann::json(nullptr) : nlohmann::json(l.skipped)}};
    if (windows) {
      j["blocks"] = u.blocks;
      j["hardened"] = u.hardened;
    }
    out.push_back(j);
  }
  return {{windows ? "windows" : "blocks", out}};
}

namespace {

// A chain of blocks trained together (a window, or evaluation-time adaptation's one block): each
// block's parts, its FP block and the model's activation hook of it.
struct ChainLink {
  BlockParts* parts;
  const DecoderBlock* fp;
  ActivationHookPtr model_hook;
};
struct StepTargets {
  const at::Tensor& x_q;
  const at::Tensor& target;
  const at::Tensor& target_2;  // undefined: no second-target term
};

// The loss of one step on samples [j, j + o.batch_size): the chain's quantized forward against the
// targets, plus the parts' regularisers at `progress` (steps done / steps of the unit).
StepLoss chain_step_loss(const std::vector<ChainLink>& chain, const LlamaConfig& cfg, const RopeTables& rope,
                         const StepTargets& t, const ReconOptions& o, at::Device dev, int64_t j, double progress) {
  const int64_t bs = o.batch_size;
  for (const ChainLink& l : chain) l.parts->before_step();
  at::Tensor out = t.x_q.narrow(0, j, bs).to(dev, true), reg;
  for (const ChainLink& l : chain) {
    const ActivationHookPtr hook = l.parts->activation_hook(l.model_hook);
    out = decoder_block_forward(l.parts->temporary_block(*l.fp), cfg, out, rope, hook.get());
    const at::Tensor r = l.parts->regularizer(progress);
    if (r.defined()) reg = (reg.defined() ? reg : at::zeros({}, at::kFloat)) + r;
  }
  const at::Tensor y = t.target.narrow(0, j, bs).to(dev, true);
  at::Tensor loss = o.loss ? o.loss(out, y) : at::mse_loss(out, y);
  if (t.target_2.defined()) {
    const at::Tensor y2 = t.target_2.narrow(0, j, bs).to(dev, true);
    if (o.aug_loss) loss = loss + at::mse_loss(out, y2);
    if (o.target_2_loss) loss = loss + o.target_2_loss(out, y2);
  }
  if (!reg.defined()) return StepLoss{loss};
  const double logged = loss.item<double>();
  const double blocks = o.sum_regularizers ? 1.0 : static_cast<double>(chain.size());
  return StepLoss{loss + o.regularizer_weight * reg / blocks, logged};
}

// One reconstruct() call: the calibration activations, the blocks and parts in flight, the schedule.
class Engine {
 public:
  Engine(LlamaModel& model, const at::Tensor& calibration, const PartsFactory& make_parts, const ReconOptions& o)
      : model_(model), cfg_(model.config()), o_(o), make_parts_(make_parts), dev_(model.device()),
        model_dtype_(model.dtype()), rope_(model.rope(calibration.size(1))), n_(calibration.size(0)),
        schedule_(window_schedule(static_cast<int64_t>(model.num_blocks()), o.window, o.overlap)),
        steps_per_unit_(o.epochs * (n_ / o.batch_size)),
        // Without training (closed-form methods: GPTQ, AWQ) progress counts units instead of steps.
        progress_("reconstruct", static_cast<int64_t>(schedule_.size()) * std::max<int64_t>(1, steps_per_unit_), 10.0),
        reader_(model, 0, model.num_blocks()) {
    embed(calibration);
  }

  ReconReport run() {
    for (size_t w = 0; w < schedule_.size(); ++w) {
      const auto t0 = std::chrono::steady_clock::now();
      const Window& win = schedule_[w];
      enter(win);
      BlockLog log = train_or_resume(win, w);
      leave(win, log);
      log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      report_.units.push_back({win.blocks, win.hardened, log});
      if (o_.progress && steps_per_unit_ == 0) progress_.update(static_cast<int64_t>(w) + 1, unit_label(win, model_.num_blocks()));
    }
    if (o_.progress)
      progress_.finish(fmt::format("{} {}", schedule_.size(), o_.window == 1 ? "blocks" : "windows"));
    return std::move(report_);
  }

 private:
  // X_fp = X_q = the embedded calibration windows, on the device or in pinned host memory.
  void embed(const at::Tensor& calibration) {
    at::NoGradGuard no_grad;
    x_fp_ = model_.embed(calibration.to(dev_));
    if (o_.precision.fp32_block) x_fp_ = x_fp_.to(at::kFloat);
    // x_fp, x_q, the target (and target_2) live side by side.
    const bool second = o_.aug_loss || o_.target_2_loss;
    const int64_t bytes = x_fp_.numel() * x_fp_.element_size() * (second ? 4 : 3);
    const ActivationHome home = choose_activation_home(o_.activations, dev_, bytes, free_device_bytes(dev_));
    if (home == ActivationHome::kHost && o_.progress)
      progress_.note(fmt::format("calibration activations ({:.1f} GB) kept in pinned host memory (activations: {})",
                                 static_cast<double>(bytes) / 1e9, o_.activations));
    x_q_ = home == ActivationHome::kHost ? to_home(x_fp_, home, dev_) : x_fp_.clone();  // both pinned on the host
    x_fp_ = to_home(x_fp_, home, dev_);
  }

  at::Tensor forward(const at::Tensor& x, const DecoderBlock& block, const ActivationHook* aq = nullptr) const {
    return map_batches(x, o_.batch_size, [&](const at::Tensor& b) { return decoder_block_forward(block, cfg_, b, rope_, aq); }, dev_);
  }

  // Blocks entering the window are read (streamed: block i+1 is read while block i trains) and get their
  // parts from their FP-path inputs; then the window's FP targets.
  void enter(const Window& win) {
    at::NoGradGuard no_grad;
    at::Tensor h = x_fp_;
    for (int64_t b : win.blocks) {
      if (!parts_.count(b)) {
        DecoderBlock block = reader_.next();
        if (o_.precision.fp32_block) block.cast(at::kFloat);
        fp_[b] = std::move(block);
        parts_[b] = make_parts_(BlockInputs{fp_[b], static_cast<size_t>(b), cfg_, h, x_q_, rope_, o_.batch_size,
                                           model_.activation_hook(static_cast<size_t>(b)).get()});
      }
      h = forward(h, fp_[b]);
    }
    target_ = h;
    target_2_ = at::Tensor();
    if ((o_.aug_loss || o_.target_2_loss) && o_.epochs > 0) {
      h = x_q_;
      for (int64_t b : win.blocks) h = forward(h, fp_[b]);
      target_2_ = h;
    }
  }

  // The loss of one step: the window's quantized forward against the targets, plus the regularisers.
  StepLossFn step_loss(const Window& win) {
    std::vector<ChainLink> chain;
    for (int64_t b : win.blocks)
      chain.push_back({parts_.at(b).get(), &fp_.at(b), model_.activation_hook(static_cast<size_t>(b))});
    return [this, chain](int64_t j, int64_t step) {
      const double progress = static_cast<double>(step) / static_cast<double>(steps_per_unit_);
      return chain_step_loss(chain, cfg_, rope_, {x_q_, target_, target_2_}, o_, dev_, j, progress);
    };
  }

  BlockLog train_or_resume(const Window& win, size_t w) {
    BlockLog log;
    if (o_.epochs == 0) return log;  // the parts' initial values (e.g. LET's SmoothQuant scales from x_fp)
    if (load_unit(win, w, log)) {
      done_ += steps_per_unit_;
      return log;
    }
    const bool can_skip = o_.nan_policy == NanPolicy::kSkipBlock;
    std::map<int64_t, std::map<std::string, at::Tensor>> at_start;  // skip-block restores these
    std::vector<train::ParamGroup> groups;
    for (int64_t b : win.blocks) {
      for (auto& g : parts_.at(b)->param_groups()) groups.push_back(g);
      if (can_skip) at_start[b] = cloned(parts_.at(b)->state());
    }
    log = train_steps(groups, n_, step_loss(win), unit_name(win), unit_label(win, model_.num_blocks()), can_skip, o_,
                      progress_, done_);
    if (log.skipped.empty()) {
      save_unit(win, w, log);
    } else {
      for (int64_t b : win.blocks) parts_.at(b)->load_state(at_start.at(b));
    }
    return log;
  }

  // Blocks leaving the window are folded for good (or given the fallback after a skipped unit) and
  // advance both paths.
  void leave(const Window& win, const BlockLog& log) {
    at::NoGradGuard no_grad;
    const bool whole_window = win.hardened.size() == win.blocks.size();
    for (int64_t b : win.hardened) {
      DecoderBlock block = fp_.at(b);
      const std::string prefix = fmt::format("model.layers.{}.", b);
      const bool fell_back = !log.skipped.empty() && o_.fallback_fold;
      if (fell_back)
        o_.fallback_fold(block, prefix, report_.qparams);
      else
        parts_.at(b)->fold(block, prefix, report_.qparams);
      const ActivationHookPtr& model_hook = model_.activation_hook(static_cast<size_t>(b));
      const ActivationHookPtr hook = fell_back ? model_hook : parts_.at(b)->activation_hook(model_hook);
      if (!whole_window) x_fp_ = forward(x_fp_, fp_.at(b));
      x_q_ = forward(x_q_, block, hook.get());
      if (o_.precision.fp32_block) block.cast(model_dtype_);
      model_.set_block(static_cast<size_t>(b), std::move(block));
      model_.set_activation_hook(static_cast<size_t>(b), hook);
      parts_.erase(b);
      fp_.erase(b);
    }
    if (whole_window) x_fp_ = target_;  // the FP path through every block of the window: the target itself
  }

  void save_unit(const Window& win, size_t w, const BlockLog& log) const {
    if (o_.checkpoint_dir.empty()) return;
    Named tensors;
    for (int64_t b : win.blocks)
      for (auto& [name, t] : parts_.at(b)->state()) tensors.emplace_back(state_prefix(win, b) + name, t);
    write_checkpoint_file(unit_checkpoint_path(o_, win, w), o_, tensors, log);
  }

  // Restores the window's parameters from its checkpoint; false when there is none.
  bool load_unit(const Window& win, size_t w, BlockLog& log) {
    if (o_.checkpoint_dir.empty()) return false;
    const std::string path = unit_checkpoint_path(o_, win, w);
    std::map<std::string, at::Tensor> all;
    if (!read_checkpoint_file(path, o_, all, log)) return false;
    for (int64_t b : win.blocks) {
      const std::string prefix = state_prefix(win, b);
      std::map<std::string, at::Tensor> state;
      for (const auto& [name, t] : all)
        if (name.compare(0, prefix.size(), prefix) == 0) state[name.substr(prefix.size())] = t;
      try {
        parts_.at(b)->load_state(state);
      } catch (const std::out_of_range&) {
        throw InputError(fmt::format("{}: does not hold this method's parameters", path));
      }
    }
    return true;
  }

  LlamaModel& model_;
  const LlamaConfig& cfg_;
  const ReconOptions& o_;
  const PartsFactory& make_parts_;
  const at::Device dev_;
  const at::ScalarType model_dtype_;
  const RopeTables rope_;
  const int64_t n_;
  const std::vector<Window> schedule_;
  const int64_t steps_per_unit_;
  Progress progress_;
  BlockReader reader_;
  int64_t done_ = 0;
  at::Tensor x_fp_, x_q_, target_, target_2_;
  std::map<int64_t, DecoderBlock> fp_;                         // FP blocks in flight (work dtype)
  std::map<int64_t, std::unique_ptr<BlockParts>> parts_;       // their parts
  ReconReport report_;
};

// Without calibration windows (epochs 0, nothing to learn from): each block's parts at their initial
// values.
ReconReport fold_initial_parts(LlamaModel& model, const PartsFactory& make_parts, const ReconOptions& o) {
  if (o.epochs > 0) throw InputError("block reconstruction needs calibration windows");
  if (o.window != 1) throw InputError("reconstruction over windows of blocks needs calibration windows");
  ReconReport report;
  const RopeTables rope = model.rope(1);
  const at::Tensor none;
  for (size_t i = 0; i < model.num_blocks(); ++i) {
    DecoderBlock block = model.block(i);
    const BlockInputs in{block, i, model.config(), none, none, rope, o.batch_size, model.activation_hook(i).get()};
    const std::unique_ptr<BlockParts> parts = make_parts(in);
    parts->fold(block, fmt::format("model.layers.{}.", i), report.qparams);
    model.set_block(i, std::move(block));
    model.set_activation_hook(i, parts->activation_hook(model.activation_hook(i)));
    report.units.push_back({{static_cast<int64_t>(i)}, {static_cast<int64_t>(i)}, {}});
  }
  return report;
}

}  // namespace

BlockLog train_block(BlockParts& parts, const DecoderBlock& block, size_t i, size_t num_blocks, const LlamaConfig& cfg,
                     const at::Tensor& x_q, const at::Tensor& target, const at::Tensor& target_2, const RopeTables& rope,
                     const ActivationHookPtr& aq, const ReconOptions& o, Progress& progress, int64_t& done) {
  const at::Device dev = block.q_proj.weight.device();  // activations may be at home on the host
  const std::vector<ChainLink> chain = {{&parts, &block, aq}};
  const double steps = static_cast<double>(std::max<int64_t>(1, o.epochs * (x_q.size(0) / o.batch_size)));
  const StepLossFn step_loss = [&](int64_t j, int64_t step) {
    return chain_step_loss(chain, cfg, rope, {x_q, target, target_2}, o, dev, j, static_cast<double>(step) / steps);
  };
  return train_steps(parts.param_groups(), x_q.size(0), step_loss, fmt::format("block {}", i),
                     fmt::format("block {}/{}", i + 1, num_blocks), o.nan_policy == NanPolicy::kSkipBlock, o,
                     progress, done);
}

ReconReport reconstruct(LlamaModel& model, const at::Tensor& calibration, const PartsFactory& make_parts,
                        const ReconOptions& o) {
  if (calibration.numel() == 0) return fold_initial_parts(model, make_parts, o);
  if (calibration.dim() != 2) throw InputError("calibration windows must be [n, seqlen] token ids");
  const int64_t n = calibration.size(0), seqlen = calibration.size(1);
  if (o.batch_size < 1 || n % o.batch_size != 0)
    throw InputError(fmt::format("batch_size {} must divide the {} calibration windows", o.batch_size, n));
  if (seqlen > model.config().max_position_embeddings)
    throw InputError(fmt::format("calibration seqlen {} exceeds max_position_embeddings {}", seqlen,
                                 model.config().max_position_embeddings));
  return Engine(model, calibration, make_parts, o).run();
}

}  // namespace ptq::recon
