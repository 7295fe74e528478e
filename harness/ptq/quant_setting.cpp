#include "harness/ptq/quant_setting.h"

#include "harness/model/llama_config.h"
#include "harness/model/llama_model.h"
#include "harness/util/errors.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <regex>

namespace ptq::quant {

namespace {

bool valid_bits(int b) { return (b >= 2 && b <= 8) || b == 16; }

}  // namespace

QuantSetting QuantSetting::parse(const std::string& text) {
  static const std::regex grammar(R"(W(\d+)A(\d+)(?:g(-?\d+))?(?:KV(\d+))?((?:-wsym|-actsym)*))");
  std::smatch m;
  const auto bad = [&](const std::string& why) {
    return InputError(fmt::format("setting '{}': {} (expected W<bits>A<bits>[g<group>][KV<bits>][-wsym][-actsym], "
                                  "e.g. W4A16g128 or W4A4; bits 2..8 or 16)", text, why));
  };
  if (!std::regex_match(text, m, grammar)) throw bad("not in the paper notation");
  QuantSetting s;
  s.wbits = std::stoi(m[1]);
  s.abits = std::stoi(m[2]);
  if (!valid_bits(s.wbits)) throw bad(fmt::format("weight bits {} outside 2..8 and 16", s.wbits));
  if (!valid_bits(s.abits)) throw bad(fmt::format("activation bits {} outside 2..8 and 16", s.abits));
  if (m[3].matched) {
    s.group_size = std::stoll(m[3]);
    if (s.group_size <= 0) throw bad(fmt::format("group size {} must be positive", s.group_size));
    if (s.wbits >= 16) throw bad("a group size needs quantized weights");
  }
  s.kv_bits = s.abits;
  if (m[4].matched) {
    s.kv_bits = std::stoi(m[4]);
    if (!valid_bits(s.kv_bits)) throw bad(fmt::format("KV bits {} outside 2..8 and 16", s.kv_bits));
  }
  const std::string flags = m[5];
  s.weight_symmetric = flags.find("-wsym") != std::string::npos;
  s.act_symmetric = flags.find("-actsym") != std::string::npos;
  if (s.str() != text) throw bad(fmt::format("not canonical, write it as {}", s.str()));
  return s;
}

std::string QuantSetting::str() const {
  std::string s = fmt::format("W{}A{}", wbits, abits);
  if (group_size > 0) s += fmt::format("g{}", group_size);
  if (kv_bits != abits) s += fmt::format("KV{}", kv_bits);
  if (weight_symmetric) s += "-wsym";
  if (act_symmetric) s += "-actsym";
  return s;
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
