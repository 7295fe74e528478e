#include "tests/support/paired_difference.h"

#include <cmath>
#include <stdexcept>

namespace ptq::test {

PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) throw std::invalid_argument("paired_difference: two runs of >= 2 equal segments");
  const double n = static_cast<double>(a.size());
  PairedDifference d;
  for (size_t i = 0; i < a.size(); ++i) d.mean += (a[i] - b[i]) / n;
  double var = 0;
  for (size_t i = 0; i < a.size(); ++i) var += std::pow(a[i] - b[i] - d.mean, 2) / (n - 1);
  d.se = std::sqrt(var / n);
  return d;
}

}  // namespace ptq::test
