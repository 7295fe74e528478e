// Checks of the numbers in a request that size threads and memory (issue #29), shared by the experiment
// file, the plan reader and the command line so that each says the same thing wherever the number came
// from. The limits themselves are in util/input_limits.h. LibTorch-free.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ptq {

// "" when `threads` is acceptable (0 = all cores, 1..Limit::kThreads), else why not, without a location:
// "-1 is negative, expected 0 (all cores) to 1024 threads".
std::string threads_problem(int64_t threads);
// InputError "<where>: <threads_problem>" (e.g. where = "spec.json: runtime.threads" or "--threads").
void check_threads(int64_t threads, std::string_view where);
// Calibration windows x window length: n (Limit::kCalibrationSamples), seqlen (Limit::kContextLength)
// and the tokens n x seqlen held per block (Limit::kCalibrationTokens). `n_where` / `seqlen_where` name
// the two numbers ("spec.json: calibration.n", "--nsamples"), `product_where` their product
// ("spec.json: calibration: n x seqlen", "--nsamples x --seqlen").
void check_calibration_size(int64_t n, int64_t seqlen, std::string_view n_where, std::string_view seqlen_where,
                            std::string_view product_where);

}  // namespace ptq
