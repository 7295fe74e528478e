#include "harness/util/request_limits.h"

#include "harness/util/errors.h"
#include "harness/util/input_limits.h"

#include <fmt/format.h>

namespace ptq {

std::string threads_problem(int64_t threads) {
  const int64_t max = limit_value(Limit::kThreads);
  if (threads < 0) return fmt::format("{} is negative, expected 0 (all cores) to {} threads", threads, max);
  if (threads <= max) return "";
  for (const auto& row : input_limits())
    if (row.limit == Limit::kThreads)
      return fmt::format("{} exceeds the limit of {} {} ({} raises it; 0 = all cores)", threads, max, row.what,
                         limit_env_var(row));
  return fmt::format("{} exceeds the limit of {} threads", threads, max);
}

void check_threads(int64_t threads, std::string_view where) {
  const std::string problem = threads_problem(threads);
  if (!problem.empty()) throw InputError(fmt::format("{}: {}", where, problem));
}

void check_calibration_size(int64_t n, int64_t seqlen, std::string_view n_where, std::string_view seqlen_where,
                            std::string_view product_where) {
  check_limit(Limit::kCalibrationSamples, n, n_where);
  check_limit(Limit::kContextLength, seqlen, seqlen_where);
  // Both are at most 2^20 here, so the product cannot overflow.
  check_limit(Limit::kCalibrationTokens, n * seqlen, fmt::format("{} ({} x {})", product_where, n, seqlen));
}

}  // namespace ptq
