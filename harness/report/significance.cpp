#include "harness/report/significance.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ptq::report {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double log_beta(double a, double b) { return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b); }

// Continued fraction of the incomplete beta function (modified Lentz); converges fast for
// x < (a + 1) / (a + b + 2), which regularized_incomplete_beta arranges by symmetry.
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  const auto guard = [](double v) { return std::fabs(v) < kTiny ? kTiny : v; };
  double c = 1, d = 1 / guard(1 - (a + b) * x / (a + 1)), h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    const double even = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
    d = 1 / guard(1 + even * d);
    c = guard(1 + even / c);
    h *= d * c;
    const double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
    d = 1 / guard(1 + odd * d);
    c = guard(1 + odd / c);
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < kEps) break;
  }
  return h;
}

// I_x(a, b).
double regularized_incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double log_front = a * std::log(x) + b * std::log1p(-x) - log_beta(a, b);
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_continued_fraction(b, a, 1 - x) / b;
}

struct MeanSd {
  double mean = 0, var = 0;  // var: sample variance (n - 1)
  size_t n = 0;
};
MeanSd differences(const std::vector<double>& baseline, const std::vector<double>& current) {
  MeanSd s;
  s.n = std::min(baseline.size(), current.size());
  if (s.n == 0) return s;
  for (size_t i = 0; i < s.n; ++i) s.mean += current[i] - baseline[i];
  s.mean /= static_cast<double>(s.n);
  for (size_t i = 0; i < s.n; ++i) {
    const double e = current[i] - baseline[i] - s.mean;
    s.var += e * e;
  }
  s.var = s.n > 1 ? s.var / static_cast<double>(s.n - 1) : kNaN;
  return s;
}

// A statistic over a zero standard error: no evidence of change when the mean is 0 too, certain
// change otherwise (every example moved the same way by the same amount).
double degenerate_p(double mean) { return mean == 0 ? 1.0 : 0.0; }

bool is_binary(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return x == 0 || x == 1; });
}

}  // namespace

double normal_two_sided_p(double z) { return std::erfc(std::fabs(z) / std::sqrt(2.0)); }

double student_t_two_sided_p(double t, double df) {
  if (!std::isfinite(t)) return std::isnan(t) ? kNaN : 0.0;
  return regularized_incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

double sign_test_two_sided_p(int64_t k, int64_t n) {
  if (n <= 0) return 1;
  const int64_t tail = std::min(k, n - k);
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  const double log_n_fact = std::lgamma(static_cast<double>(n) + 1);
  double sum = 0;
  for (int64_t i = 0; i <= tail; ++i)
    sum += std::exp(log_n_fact - std::lgamma(static_cast<double>(i) + 1) - std::lgamma(static_cast<double>(n - i) + 1) +
                    log_half_n);
  return std::min(1.0, 2 * sum);
}

TestResult mcnemar_exact(const std::vector<double>& baseline, const std::vector<double>& current) {
  const size_t n = std::min(baseline.size(), current.size());
  int64_t worse = 0, better = 0;  // discordant pairs: right -> wrong, wrong -> right
  for (size_t i = 0; i < n; ++i) {
    worse += baseline[i] == 1 && current[i] == 0;
    better += baseline[i] == 0 && current[i] == 1;
  }
  TestResult r;
  r.method = "mcnemar";
  r.effect = n ? static_cast<double>(better - worse) / static_cast<double>(n) : 0;
  r.p = sign_test_two_sided_p(worse, worse + better);
  r.detail = fmt::format("{} right->wrong, {} wrong->right of {}", worse, better, n);
  return r;
}

TestResult paired_t_test(const std::vector<double>& baseline, const std::vector<double>& current) {
  const MeanSd d = differences(baseline, current);
  TestResult r;
  r.method = "paired-t";
  r.effect = d.mean;
  if (d.n < 2) {
    r.p = kNaN;
    r.detail = fmt::format("n={}: too few pairs", d.n);
    return r;
  }
  const double se = std::sqrt(d.var / static_cast<double>(d.n));
  const double df = static_cast<double>(d.n - 1);
  if (se == 0) {
    r.p = degenerate_p(d.mean);
    r.detail = fmt::format("all {} differences equal", d.n);
    return r;
  }
  const double t = d.mean / se;
  r.p = student_t_two_sided_p(t, df);
  r.detail = fmt::format("t={:.2f} df={:g}", t, df);
  return r;
}

TestResult paired_test(const std::vector<double>& baseline, const std::vector<double>& current) {
  return is_binary(baseline) && is_binary(current) ? mcnemar_exact(baseline, current) : paired_t_test(baseline, current);
}

TestResult average_of_parts_test(const std::vector<PairedPart>& parts) {
  TestResult r;
  r.method = "paired-z";
  if (parts.empty()) {
    r.p = kNaN;
    r.detail = "no parts";
    return r;
  }
  double mean = 0, var = 0;
  for (const auto& part : parts) {
    const MeanSd d = differences(part.baseline, part.current);
    if (d.n < 2) {
      r.p = kNaN;
      r.detail = "a part has fewer than 2 pairs";
      return r;
    }
    mean += d.mean;
    var += d.var / static_cast<double>(d.n);
  }
  const double k = static_cast<double>(parts.size());
  r.effect = mean / k;
  const double se = std::sqrt(var) / k;
  if (se == 0) {
    r.p = degenerate_p(r.effect);
    r.detail = fmt::format("{} tasks, no discordant examples", parts.size());
    return r;
  }
  const double z = r.effect / se;
  r.p = normal_two_sided_p(z);
  r.detail = fmt::format("z={:.2f} over {} tasks", z, parts.size());
  return r;
}

TestResult stderr_z_test(double baseline, double baseline_se, double current, double current_se) {
  TestResult r;
  r.effect = current - baseline;
  const double a = std::isfinite(baseline_se) ? baseline_se : 0, b = std::isfinite(current_se) ? current_se : 0;
  if (!std::isfinite(baseline_se) && !std::isfinite(current_se)) {
    r.method = "none";
    r.p = kNaN;
    r.detail = "no standard errors";
    return r;
  }
  r.method = "stderr-z";
  const double se = std::sqrt(a * a + b * b);
  if (se == 0) {
    r.p = degenerate_p(r.effect);
    r.detail = "zero standard errors";
    return r;
  }
  const double z = r.effect / se;
  r.p = normal_two_sided_p(z);
  r.detail = fmt::format("{:+.2f} standard errors", z);
  return r;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<size_t> order;
  for (size_t i = 0; i < p.size(); ++i)
    if (std::isfinite(p[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> adjusted(p.size(), kNaN);
  const double m = static_cast<double>(order.size());
  double running = 0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    running = std::max(running, std::min(1.0, (m - static_cast<double>(rank)) * p[order[rank]]));
    adjusted[order[rank]] = running;
  }
  return adjusted;
}

}  // namespace ptq::report
