#include "harness/report/chart_geometry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ptq::report {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

ValueRange panel_range(const std::vector<double>& values, double reference, bool higher_is_better) {
  std::vector<double> v;
  for (double x : values)
    if (std::isfinite(x)) v.push_back(x);
  if (std::isfinite(reference)) v.push_back(reference);
  if (v.empty()) return {};
  const double ref = std::isfinite(reference) ? reference : median(v);
  ValueRange r{*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
  if (ref > 0) {
    if (higher_is_better) r.lo = std::max(r.lo, ref / kClipFactor);
    else r.hi = std::min(r.hi, ref * kClipFactor);
  }
  if (r.hi - r.lo <= 1e-12 * std::max(1.0, std::fabs(r.hi))) {  // one value: a band around it
    const double pad = r.lo != 0 ? std::fabs(r.lo) * 0.05 : 1.0;
    r.lo -= pad;
    r.hi += pad;
  }
  return r;
}

Axis nice_axis(double lo, double hi, int target) {
  Axis a;
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double nice = 10;
  for (double f : {1.0, 2.0, 5.0})
    if (raw / mag <= f * (1 + 1e-9)) {
      nice = f;
      break;
    }
  a.step = nice * mag;
  // The small slack keeps 1.32 / 0.02 = 65.99999 from moving the axis a whole step out.
  const long first = static_cast<long>(std::floor(lo / a.step + 1e-9));
  const long last = static_cast<long>(std::ceil(hi / a.step - 1e-9));
  a.min = first * a.step;
  a.max = last * a.step;
  a.decimals = std::max(0, -static_cast<int>(std::floor(std::log10(a.step) + 1e-9)));
  for (long i = first; i <= last; ++i) a.ticks.push_back(i * a.step);
  return a;
}

std::string tick_label(double v, int decimals) {
  const std::string s = fmt::format("{:.{}f}", v, decimals);
  return s.find_first_not_of("-0.") == std::string::npos ? fmt::format("{:.{}f}", 0.0, decimals) : s;  // no "-0.0"
}

Placement place(double v, const Axis& a) {
  const double eps = 1e-9 * (a.max - a.min);
  return v > a.max + eps ? Placement::kAbove : v < a.min - eps ? Placement::kBelow : Placement::kInside;
}

}  // namespace ptq::report
