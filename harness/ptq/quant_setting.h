// A quantization setting in the papers' notation, parsed and printed back identically:
//   W<w>A<a>[g<group>][KV<kv>][-wsym][-actsym]
//   W16A16 full precision; W4A16 / W3A16 / W2A16 weight-only, per output channel; W4A16g128 with groups of
//   128 input columns; W8A8 / W6A6 / W4A8 / W4A4 weights and activations; KV<kv> sets the bits of the Q/K/V
//   activation quantizers (default: the A bits); -wsym / -actsym select symmetric weight / activation
//   quantizers (the papers use asymmetric for both). Bits are 2..8 or 16 (= not quantized).
#pragma once

#include "harness/quant/act_quant.h"
#include "harness/quant/uniform_quantizer.h"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace ptq {
struct LlamaConfig;
class LlamaModel;
}

namespace ptq::quant {

struct QuantSetting {
  int wbits = 16;
  int abits = 16;
  int64_t group_size = 0;  // 0 = per output channel
  int kv_bits = 16;        // Q/K/V activations; equals abits unless set with KV<n>
  bool weight_symmetric = false;
  bool act_symmetric = false;

  static QuantSetting parse(const std::string& text);  // InputError naming the string and the rule
  std::string str() const;                             // canonical, parse(str()) == *this
  nlohmann::json to_json() const;

  bool is_full_precision() const { return wbits >= 16 && abits >= 16 && kv_bits >= 16; }
  QuantizerSpec weight_spec() const { return {wbits, weight_symmetric, group_size, RangeRule::kMinMax}; }
  QuantizerSpec act_spec() const { return {abits, act_symmetric, 0, RangeRule::kMinMax}; }
  QuantizerSpec kv_spec() const { return {kv_bits, act_symmetric, 0, RangeRule::kMinMax}; }
  ActivationQuant activation_quant() const { return {act_spec(), kv_spec()}; }
  // The setting must fit the model: every linear's in_features divisible by the group size.
  void validate_for(const LlamaConfig& config) const;
  bool operator==(const QuantSetting& o) const;
};

// Gives every block of `model` the setting's activation quantizers (none when activations stay at 16
// bits), replacing what the blocks had.
void apply_activation_quant(LlamaModel& model, const QuantSetting& setting);

struct KnownSetting {
  const char* name;
  const char* description;
};
// The settings the papers report, for `ptqbench ls settings` (any valid string is accepted).
const std::vector<KnownSetting>& known_settings();

}  // namespace ptq::quant
