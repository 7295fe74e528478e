#include "harness/tiny/outliers.h"

#include "harness/util/py_random.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <numeric>

namespace ptq::tiny {

namespace {

// `a + b` distinct channels of [0, n): the first `a` and the next `b`, each sorted.
std::pair<std::vector<int64_t>, std::vector<int64_t>> pick_channels(PyRandom& rng, int64_t n, int a, int b) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  rng.shuffle(all);
  std::vector<int64_t> first(all.begin(), all.begin() + a), second(all.begin() + a, all.begin() + a + b);
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  return {first, second};
}

struct Scaled {
  int64_t channel;
  double factor;  // > 1: activation outlier (norm / up row times factor); < 1: heavy weights (divided)
};

void scale_hidden_channel(DecoderBlock& b, const Scaled& c) {
  b.input_layernorm[c.channel].mul_(c.factor);
  for (Linear* l : {&b.q_proj, &b.k_proj, &b.v_proj}) l->weight.select(1, c.channel).div_(c.factor);
  b.post_attention_layernorm[c.channel].mul_(c.factor);
  for (Linear* l : {&b.gate_proj, &b.up_proj}) l->weight.select(1, c.channel).div_(c.factor);
}

void scale_intermediate_channel(DecoderBlock& b, const Scaled& c) {
  b.up_proj.weight.select(0, c.channel).mul_(c.factor);
  b.down_proj.weight.select(1, c.channel).div_(c.factor);
}

nlohmann::json to_json(const std::vector<Scaled>& v) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : v) out.push_back({{"channel", s.channel}, {"factor", s.factor}});
  return out;
}

}  // namespace

nlohmann::json inject_outliers(LlamaModel& model, const OutlierSpec& spec) {
  c10::AutoGradMode no_grad(false);
  PyRandom rng(static_cast<int64_t>(spec.seed));
  const auto& c = model.config();
  const auto draw = [&](const std::vector<int64_t>& channels, int lo, int hi, bool heavy_weights) {
    std::vector<Scaled> out;
    for (const auto ch : channels) {
      const double f = std::ldexp(1.0, static_cast<int>(rng.randint(lo, hi)));
      out.push_back({ch, heavy_weights ? 1.0 / f : f});
    }
    return out;
  };
  // Hidden channels: the same indices and factors for every norm.
  const auto [act_hidden, weight_hidden] =
      pick_channels(rng, c.hidden_size, spec.hidden_channels, spec.weight_hidden_channels);
  std::vector<Scaled> hidden = draw(act_hidden, spec.min_log2, spec.max_log2, false);
  const std::vector<Scaled> heavy = draw(weight_hidden, spec.weight_min_log2, spec.weight_max_log2, true);
  nlohmann::json report = {{"hidden", to_json(hidden)}, {"hidden_heavy_weights", to_json(heavy)},
                           {"intermediate", nlohmann::json::array()}, {"intermediate_heavy_weights", nlohmann::json::array()}};
  hidden.insert(hidden.end(), heavy.begin(), heavy.end());
  for (size_t i = 0; i < model.num_blocks(); ++i) {
    DecoderBlock& b = model.block_in_place(i);
    for (const auto& s : hidden) scale_hidden_channel(b, s);
    const auto [act, wt] = pick_channels(rng, c.intermediate_size, spec.intermediate_channels, spec.weight_intermediate_channels);
    const auto inter = draw(act, spec.min_log2, spec.max_log2, false);
    const auto inter_heavy = draw(wt, spec.weight_min_log2, spec.weight_max_log2, true);
    for (const auto& s : inter) scale_intermediate_channel(b, s);
    for (const auto& s : inter_heavy) scale_intermediate_channel(b, s);
    report["intermediate"].push_back(to_json(inter));
    report["intermediate_heavy_weights"].push_back(to_json(inter_heavy));
  }
  return report;
}

}  // namespace ptq::tiny
