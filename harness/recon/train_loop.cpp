#include "harness/recon/train_loop.h"

#include "harness/recon/checkpoint_file.h"
#include "harness/recon/loss_log.h"
#include "harness/recon/loss_scaler.h"
#include "harness/util/errors.h"
#include "harness/util/progress.h"
#include "harness/util/stop_request.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

namespace ptq::recon {

namespace {

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
  LossLog loss_log(o.loss_log);
  // quantize --profile-trace: the first unit to train writes the trace of its steps (the file does not
  // exist yet); later units leave it alone.
  std::unique_ptr<torch::autograd::profiler::RecordProfile> trace;
  if (!o.profile_trace.empty() && !std::filesystem::exists(o.profile_trace))
    trace = std::make_unique<torch::autograd::profiler::RecordProfile>(o.profile_trace);
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
      loss_log.step(where, at.epoch, at.j / o.batch_size, l, s.logged);
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

}  // namespace ptq::recon
