// RTN: round-to-nearest, no calibration. The baseline row of every PTQ table.
#pragma once

#include "harness/ptq/config_schema.h"
#include "harness/ptq/method.h"

#include <memory>

namespace ptq::methods {

struct RtnConfig {
  // How each weight row's quantization range is chosen:
  //  "minmax"       plain min/max of the row or group, scale clamped to [1e-5, 1e4]: OmniQuant's
  //                 UniformAffineQuantizer with LWC/LET off, i.e. the RTN rows of the OmniQuant, LRQuant
  //                 and CBQ tables (source: OmniQuant quantize/quantizer.py). Default.
  //  "gptq_nearest" GPTQ's `--nearest`: range forced to contain 0, per output channel only (GPTQ ignores
  //                 --groupsize there, so group settings are refused here), asymmetric only
  //                 (source: IST-DASLab/gptq llama.py + quant.py). The RTN rows of the GPTQ tables.
  quant::RangeRule range = quant::RangeRule::kMinMax;

  static const quant::ConfigSchema<RtnConfig>& schema();  // the fields' keys, sources, allowed values
  nlohmann::json to_json() const;
  static RtnConfig from_json(const nlohmann::json& j);  // strict: unknown keys are errors
};

std::unique_ptr<quant::Method> make_rtn();

}  // namespace ptq::methods
