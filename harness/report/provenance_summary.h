// One line per machine and build that produced a report's numbers, from result.json's
// provenance.environment: CPU and its vector ISA, what decided the digits (util/numerics.h's summary:
// mode, ATen kernels, BLAS kernel, threads), the harness and LibTorch versions, the device.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace ptq::report {

// "" for runs written before environments were recorded.
std::string provenance_line(const nlohmann::json& environment);

}  // namespace ptq::report
