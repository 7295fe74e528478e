// The mean per-segment loss difference of two runs scored on the same segments, and its standard error
// (written out here: the tests that compare methods should not lean on harness/report's statistics).
#pragma once

#include <vector>

namespace ptq::test {

struct PairedDifference {
  double mean = 0, se = 0;  // mean of (a_i - b_i) and sd / sqrt(n)
};

PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace ptq::test
