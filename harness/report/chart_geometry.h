// The pure geometry of the report's charts, apart from any SVG: the value range a panel shows (clipped
// robustly so that one collapsed point cannot squash the others into one pixel row), 1-2-5 axis ticks,
// and the linear map from values to pixels. Tested against hand-derived values (tests/unit/test_chart_geometry.cpp).
#pragma once

#include <string>
#include <vector>

namespace ptq::report {

// The clip rule: a panel shows at most kClipFactor times the reference value on the bad side (above it
// for perplexity, below reference / kClipFactor for accuracies); values beyond become arrows at the edge
// labelled with their value. The reference is the FP model's value, or the median of the panel's values
// when it has none. Four times FP keeps the usual 2-3 bit range (Llama-2-7B FP 5.47: up to 21.9) and
// sends collapsed runs (ppl in the hundreds or thousands) to the edge.
inline constexpr double kClipFactor = 4.0;

struct ValueRange {
  double lo = 0, hi = 1;
};

// The range of `values` (ours and the papers', non-finite ones ignored) and `reference` (NaN: none),
// clipped by the rule above and widened around a single value. Values all non-finite: [0, 1].
ValueRange panel_range(const std::vector<double>& values, double reference, bool higher_is_better);

struct Axis {
  double min = 0, max = 1, step = 1;  // min and max are multiples of step
  std::vector<double> ticks;          // min, min + step, ..., max: every tick is labelled
  int decimals = 0;                   // enough to tell the ticks apart
};

// A 1-2-5 step (1, 2, 5, 10, 20, ... x 10^k) giving about `target` intervals over [lo, hi] (lo < hi),
// the axis extended outwards to multiples of it; works at any scale (1.32..1.39 as well as 5..5000).
Axis nice_axis(double lo, double hi, int target = 5);
std::string tick_label(double v, int decimals);

// Where a value lies against the axis.
enum class Placement { kInside, kAbove, kBelow };
Placement place(double v, const Axis& a);

// Maps [d0, d1] linearly onto [r0, r1] (pixels; r0 > r1 for a y axis growing upwards).
struct LinearScale {
  double d0, d1, r0, r1;
  double operator()(double v) const { return r0 + (v - d0) / (d1 - d0) * (r1 - r0); }
};

}  // namespace ptq::report
