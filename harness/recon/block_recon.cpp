#include "recon/block_recon.h"

#include "io/files.h"
#include "io/safetensors.h"
#include "run/progress.h"
#include "util/errors.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <cmath>

namespace ptq::recon {

namespace {

constexpr const char* kLinearNames[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                        "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};

std::vector<Linear*> linears(DecoderBlock& b) {
  return {&b.q_proj, &b.k_proj, &b.v_proj, &b.o_proj, &b.gate_proj, &b.up_proj, &b.down_proj};
}

class LwcParts final : public BlockParts {
 public:
  LwcParts(const DecoderBlock& block, const quant::QuantizerSpec& spec, double lr, double init) : spec_(spec), lr_(lr) {
    DecoderBlock copy = block;
    for (Linear* l : linears(copy)) {
      up_.push_back(quant::lwc_init(l->weight, spec, init).to(at::kFloat).requires_grad_(true));
      low_.push_back(quant::lwc_init(l->weight, spec, init).to(at::kFloat).requires_grad_(true));
    }
  }
  std::vector<train::ParamGroup> param_groups() override {
    train::ParamGroup g;
    g.params.insert(g.params.end(), up_.begin(), up_.end());
    g.params.insert(g.params.end(), low_.begin(), low_.end());
    g.lr = lr_;
    return {g};
  }
  DecoderBlock temporary_block(const DecoderBlock& fp) const override {
    DecoderBlock t = fp;
    auto ls = linears(t);
    for (size_t k = 0; k < ls.size(); ++k) ls[k]->weight = quant::fake_quant_weight(ls[k]->weight, spec_, up_[k], low_[k]);
    return t;
  }
  std::vector<std::pair<std::string, at::Tensor>> state() const override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (size_t k = 0; k < up_.size(); ++k) {
      out.emplace_back(std::string(kLinearNames[k]) + ".lwc_up", up_[k].detach());
      out.emplace_back(std::string(kLinearNames[k]) + ".lwc_low", low_[k].detach());
    }
    return out;
  }
  void load_state(const std::map<std::string, at::Tensor>& state) override {
    at::NoGradGuard no_grad;
    for (size_t k = 0; k < up_.size(); ++k) {
      up_[k].copy_(state.at(std::string(kLinearNames[k]) + ".lwc_up"));
      low_[k].copy_(state.at(std::string(kLinearNames[k]) + ".lwc_low"));
    }
  }
  void fold(DecoderBlock& block, const std::string& prefix,
            std::vector<std::pair<std::string, at::Tensor>>& qparams) override {
    at::NoGradGuard no_grad;
    auto ls = linears(block);
    for (size_t k = 0; k < ls.size(); ++k) {
      quant::QParams qp;
      ls[k]->weight = quant::fake_quant_weight(ls[k]->weight, spec_, up_[k].detach(), low_[k].detach(), &qp);
      qparams.emplace_back(prefix + kLinearNames[k] + ".weight_scale", qp.scale);
      qparams.emplace_back(prefix + kLinearNames[k] + ".weight_zero", qp.zero);
    }
  }

 private:
  quant::QuantizerSpec spec_;
  double lr_;
  std::vector<at::Tensor> up_, low_;
};

// Applies `f` to each batch of rows of `x` ([n, T, H]) and stacks the results.
at::Tensor map_batches(const at::Tensor& x, int64_t batch, const std::function<at::Tensor(const at::Tensor&)>& f) {
  std::vector<at::Tensor> out;
  for (int64_t j = 0; j < x.size(0); j += batch) out.push_back(f(x.narrow(0, j, std::min(batch, x.size(0) - j))));
  return at::cat(out, 0);
}

std::string checkpoint_path(const ReconOptions& o, size_t block) {
  return (std::filesystem::path(o.checkpoint_dir) / fmt::format("block_{}.safetensors", block)).string();
}

// Restores a block's parameters from its checkpoint; false when there is none.
bool load_checkpoint(const ReconOptions& o, size_t block, BlockParts& parts, BlockLog& log) {
  if (o.checkpoint_dir.empty()) return false;
  const std::string path = checkpoint_path(o, block);
  if (!io::file_exists(path)) return false;
  const io::SafetensorsFile f(path);
  const auto key = f.metadata().find("checkpoint_key");
  if (key == f.metadata().end() || key->second != o.checkpoint_key)
    throw InputError(fmt::format("{}: a checkpoint of another run (key {}, expected {}); remove {} to start over", path,
                                 key == f.metadata().end() ? "none" : key->second, o.checkpoint_key, o.checkpoint_dir));
  std::map<std::string, at::Tensor> state;
  for (const auto& t : f.tensors()) state[t.name] = f.load(t.name);
  try {
    parts.load_state(state);
  } catch (const std::out_of_range&) {
    throw InputError(fmt::format("{}: does not hold this method's parameters", path));
  }
  log.first_epoch_loss = std::stod(f.metadata().at("first_epoch_loss"));
  log.last_epoch_loss = std::stod(f.metadata().at("last_epoch_loss"));
  log.resumed = true;
  return true;
}

void save_checkpoint(const ReconOptions& o, size_t block, const BlockParts& parts, const BlockLog& log) {
  if (o.checkpoint_dir.empty()) return;
  std::filesystem::create_directories(o.checkpoint_dir);
  io::write_safetensors(checkpoint_path(o, block), parts.state(),
                        {{"checkpoint_key", o.checkpoint_key},
                         {"first_epoch_loss", fmt::format("{:.17g}", log.first_epoch_loss)},
                         {"last_epoch_loss", fmt::format("{:.17g}", log.last_epoch_loss)}});
}

}  // namespace

std::unique_ptr<BlockParts> make_lwc_parts(const DecoderBlock& block, const quant::QuantizerSpec& weight_spec, double lr,
                                           double init) {
  return std::make_unique<LwcParts>(block, weight_spec, lr, init);
}

nlohmann::json ReconReport::to_json() const {
  nlohmann::json b = nlohmann::json::array();
  for (const auto& l : blocks)
    b.push_back({{"first_epoch_loss", l.first_epoch_loss}, {"last_epoch_loss", l.last_epoch_loss}, {"seconds", l.seconds},
                 {"resumed", l.resumed}});
  return {{"blocks", b}};
}

ReconReport reconstruct(LlamaModel& model, const at::Tensor& calibration, const PartsFactory& make_parts,
                        const ReconOptions& o) {
  ReconReport report;
  if (o.epochs == 0) {  // nothing to learn: the parts at their initial values, folded block by block
    for (size_t i = 0; i < model.blocks.size(); ++i) {
      make_parts(model.blocks[i], i)->fold(model.blocks[i], fmt::format("model.layers.{}.", i), report.qparams);
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
  at::Tensor x_fp, x_q;
  {
    at::NoGradGuard no_grad;
    x_fp = model.embed(calibration.to(model.device()));
    x_q = x_fp.clone();
  }
  const int64_t steps_per_epoch = n / o.batch_size;
  Progress progress("reconstruct", static_cast<int64_t>(model.blocks.size()) * o.epochs * steps_per_epoch, 10.0);
  int64_t done = 0;
  for (size_t i = 0; i < model.blocks.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    DecoderBlock& block = model.blocks[i];
    at::Tensor target, target_2;
    {
      at::NoGradGuard no_grad;
      target = map_batches(x_fp, o.batch_size, [&](const at::Tensor& x) { return decoder_block_forward(block, cfg, x, rope); });
      if (o.aug_loss)
        target_2 = map_batches(x_q, o.batch_size, [&](const at::Tensor& x) { return decoder_block_forward(block, cfg, x, rope); });
    }
    std::unique_ptr<BlockParts> parts = make_parts(block, i);
    BlockLog log;
    if (load_checkpoint(o, i, *parts, log)) {
      done += o.epochs * steps_per_epoch;
    } else {
      train::AdamW opt(parts->param_groups());
      for (int epoch = 0; epoch < o.epochs; ++epoch) {
        double sum = 0;
        for (int64_t j = 0; j < n; j += o.batch_size) {
          at::AutoGradMode grad(true);
          const DecoderBlock t = parts->temporary_block(block);
          const at::Tensor out = decoder_block_forward(t, cfg, x_q.narrow(0, j, o.batch_size), rope, model.act_quant);
          at::Tensor loss = at::mse_loss(out, target.narrow(0, j, o.batch_size));
          if (o.aug_loss) loss = loss + at::mse_loss(out, target_2.narrow(0, j, o.batch_size));
          const double l = loss.item<double>();
          if (!std::isfinite(l))
            throw std::runtime_error(fmt::format("block {} epoch {} step {}: loss is {} (NaN/Inf)", i, epoch, j / o.batch_size, l));
          opt.zero_grad();
          loss.backward();
          opt.step();
          sum += l;
          ++done;
          if (o.progress)
            progress.update(done, fmt::format("block {}/{} epoch {}/{} loss {:.3g}", i + 1, model.blocks.size(), epoch + 1,
                                              o.epochs, l));
        }
        const double mean = sum / static_cast<double>(steps_per_epoch);
        if (epoch == 0) log.first_epoch_loss = mean;
        log.last_epoch_loss = mean;
      }
      save_checkpoint(o, i, *parts, log);
    }
    parts->fold(block, fmt::format("model.layers.{}.", i), report.qparams);
    {
      at::NoGradGuard no_grad;
      x_q = map_batches(x_q, o.batch_size,
                        [&](const at::Tensor& x) { return decoder_block_forward(block, cfg, x, rope, model.act_quant); });
      x_fp = target;
    }
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report.blocks.push_back(log);
  }
  if (o.progress) progress.finish(fmt::format("{} blocks", model.blocks.size()));
  return report;
}

}  // namespace ptq::recon
