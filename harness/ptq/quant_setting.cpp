#include "harness/ptq/quant_setting.h"

#include "harness/ptq/setting_notation.h"

#include "harness/model/llama_config.h"
#include "harness/model/llama_model.h"
#include "harness/util/errors.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ptq::quant {

QuantSetting QuantSetting::parse(const std::string& text) {
  const SettingNotation n = parse_setting_notation(text);
  QuantSetting s;
  s.wbits = n.wbits;
  s.abits = n.abits;
  s.group_size = n.group_size;
  s.kv_bits = n.kv_bits;
  s.weight_symmetric = n.weight_symmetric;
  s.act_symmetric = n.act_symmetric;
  return s;
}

std::string QuantSetting::str() const {
  return format_setting_notation({wbits, abits, group_size, kv_bits, weight_symmetric, act_symmetric});
}

nlohmann::json QuantSetting::to_json() const {
  return {{"name", str()},           {"wbits", wbits},   {"abits", abits},
          {"group_size", group_size}, {"kv_bits", kv_bits}, {"weight_symmetric", weight_symmetric},
          {"act_symmetric", act_symmetric}};
}

void QuantSetting::validate_for(const LlamaConfig& c) const {
  if (group_size <= 0) return;
  const std::pair<const char*, int64_t> inputs[] = {{"q/k/v/gate/up_proj (hidden_size)", c.hidden_size},
                                                    {"o_proj (heads x head_dim)", c.q_dim()},
                                                    {"down_proj (intermediate_size)", c.intermediate_size}};
  for (const auto& [which, in_features] : inputs)
    if (in_features % group_size != 0)
      throw InputError(fmt::format("setting '{}': group size {} does not divide in_features {} of {}", str(),
                                   group_size, in_features, which));
}

bool QuantSetting::operator==(const QuantSetting& o) const {
  return wbits == o.wbits && abits == o.abits && group_size == o.group_size && kv_bits == o.kv_bits &&
         weight_symmetric == o.weight_symmetric && act_symmetric == o.act_symmetric;
}

const std::vector<KnownSetting>& known_settings() {
  static const std::vector<KnownSetting> table = {
      {"W16A16", "full precision (the FP16 row of every table)"},
      {"W4A16", "4-bit weights per output channel, activations FP"},
      {"W3A16", "3-bit weights per output channel, activations FP"},
      {"W2A16", "2-bit weights per output channel, activations FP"},
      {"W4A16g128", "4-bit weights, groups of 128 input columns"},
      {"W3A16g128", "3-bit weights, groups of 128 input columns"},
      {"W2A16g128", "2-bit weights, groups of 128 input columns"},
      {"W2A16g64", "2-bit weights, groups of 64 input columns"},
      {"W8A8", "8-bit weights per channel, 8-bit per-token activations (linear inputs, Q, K, V)"},
      {"W6A6", "6-bit weights per channel, 6-bit per-token activations"},
      {"W4A8", "4-bit weights per channel, 8-bit per-token activations"},
      {"W4A4", "4-bit weights per channel, 4-bit per-token activations"},
  };
  return table;
}

void apply_activation_quant(LlamaModel& model, const QuantSetting& setting) {
  model.set_activation_hooks(activation_quantizer(setting.activation_quant()));
}

}  // namespace ptq::quant
