#include "tiny/outliers.h"

#include "run/py_random.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <numeric>

namespace ptq::tiny {

namespace {

std::vector<int64_t> pick_channels(PyRandom& rng, int64_t n, int k) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  rng.shuffle(all);
  all.resize(static_cast<size_t>(k));
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace

nlohmann::json inject_outliers(LlamaModel& model, const OutlierSpec& spec) {
  c10::AutoGradMode no_grad(false);
  PyRandom rng(static_cast<int64_t>(spec.seed));
  const auto& c = model.config();
  const auto factor = [&] { return std::ldexp(1.0, static_cast<int>(rng.randint(spec.min_log2, spec.max_log2))); };
  nlohmann::json report = {{"hidden", nlohmann::json::array()}, {"intermediate", nlohmann::json::array()}};

  // Hidden channels: the same indices for every norm, one factor per channel.
  const auto hidden = pick_channels(rng, c.hidden_size, spec.hidden_channels);
  std::vector<double> hidden_factor;
  for (const auto ch : hidden) {
    hidden_factor.push_back(factor());
    report["hidden"].push_back({{"channel", ch}, {"factor", hidden_factor.back()}});
  }
  for (size_t li = 0; li < model.blocks.size(); ++li) {
    auto& b = model.blocks[li];
    for (size_t k = 0; k < hidden.size(); ++k) {
      const int64_t ch = hidden[k];
      const double s = hidden_factor[k];
      b.input_layernorm[ch].mul_(s);
      for (Linear* l : {&b.q_proj, &b.k_proj, &b.v_proj}) l->weight.select(1, ch).div_(s);
      b.post_attention_layernorm[ch].mul_(s);
      for (Linear* l : {&b.gate_proj, &b.up_proj}) l->weight.select(1, ch).div_(s);
    }
    nlohmann::json layer = nlohmann::json::array();
    for (const auto j : pick_channels(rng, c.intermediate_size, spec.intermediate_channels)) {
      const double s = factor();
      b.up_proj.weight.select(0, j).mul_(s);
      b.down_proj.weight.select(1, j).div_(s);
      layer.push_back({{"channel", j}, {"factor", s}});
    }
    report["intermediate"].push_back(layer);
  }
  return report;
}

}  // namespace ptq::tiny
