// What a NaN/Inf training loss does (the methods' "nan_policy"): stop with an error naming the unit,
// epoch and step, or skip the unit (its parameters restored, the method's fallback folded).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ptq::recon {

enum class NanPolicy { kStop, kSkipBlock };

// The names configs use, for quant::ConfigSchema::choice.
inline const std::vector<std::pair<std::string, NanPolicy>>& nan_policy_names() {
  static const std::vector<std::pair<std::string, NanPolicy>> names = {{"stop", NanPolicy::kStop},
                                                                      {"skip-block", NanPolicy::kSkipBlock}};
  return names;
}

}  // namespace ptq::recon
