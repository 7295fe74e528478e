// The significance tests behind `ptqbench regress`, against closed forms and a naive numerical
// integration written here (not the incomplete-beta continued fraction the product uses).
#include "harness/report/significance.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using Catch::Matchers::Contains;
using namespace ptq::report;

namespace {

// Two-sided Student-t p-value by Simpson's rule on the density from 0 to |t|.
double t_p_by_integration(double t, double df) {
  const double c = std::exp(std::lgamma((df + 1) / 2) - std::lgamma(df / 2)) / std::sqrt(df * M_PI);
  const auto density = [&](double x) { return c * std::pow(1 + x * x / df, -(df + 1) / 2); };
  const int n = 20000;
  const double h = std::fabs(t) / n;
  double s = density(0) + density(std::fabs(t));
  for (int i = 1; i < n; ++i) s += (i % 2 ? 4 : 2) * density(i * h);
  return 1 - 2 * s * h / 3;
}

std::vector<double> ones_then_zeros(int ones, int zeros) {
  std::vector<double> v(static_cast<size_t>(ones), 1.0);
  v.resize(static_cast<size_t>(ones + zeros), 0.0);
  return v;
}

}  // namespace

TEST_CASE("significance: normal and Student-t tails", "[unit][regress]") {
  CHECK(normal_two_sided_p(1.959963984540054) == Approx(0.05).epsilon(1e-9));
  CHECK(normal_two_sided_p(0) == 1.0);
  CHECK(student_t_two_sided_p(1, 1) == Approx(0.5).epsilon(1e-12));                       // Cauchy
  CHECK(student_t_two_sided_p(2, 2) == Approx(1 - 2 / std::sqrt(6.0)).epsilon(1e-12));   // 1 - t / sqrt(t^2 + 2)
  CHECK(student_t_two_sided_p(2.228138851986274, 10) == Approx(0.05).epsilon(1e-9));     // the 97.5 % quantile
  for (const double df : {3.0, 7.0, 29.0, 85.0})
    for (const double t : {0.3, 1.7, 3.1, -2.4})
      CHECK(student_t_two_sided_p(t, df) == Approx(t_p_by_integration(t, df)).epsilon(1e-7));
  CHECK(student_t_two_sided_p(std::numeric_limits<double>::infinity(), 5) == 0);
}

TEST_CASE("significance: the exact sign test counts binomial tails", "[unit][regress]") {
  CHECK(sign_test_two_sided_p(0, 10) == Approx(2.0 / 1024));
  CHECK(sign_test_two_sided_p(2, 10) == Approx(2.0 * (1 + 10 + 45) / 1024));
  CHECK(sign_test_two_sided_p(8, 10) == Approx(2.0 * (1 + 10 + 45) / 1024));  // symmetric
  CHECK(sign_test_two_sided_p(5, 10) == 1.0);                                 // capped
  CHECK(sign_test_two_sided_p(0, 0) == 1.0);
  // Large n stays finite and tiny: 0 of 2000.
  CHECK(sign_test_two_sided_p(0, 2000) < 1e-300);
}

TEST_CASE("significance: McNemar on discordant pairs, paired t on differences", "[unit][regress]") {
  // 10 documents: 4 right->wrong, 1 wrong->right, 5 unchanged.
  const std::vector<double> base = {1, 1, 1, 1, 0, 1, 1, 0, 0, 1};
  const std::vector<double> cur = {0, 0, 0, 0, 1, 1, 1, 0, 0, 1};
  const TestResult m = paired_test(base, cur);
  CHECK(m.method == "mcnemar");
  CHECK(m.effect == Approx(-0.3));
  CHECK(m.p == Approx(2.0 * (1 + 5) / 32));  // 1 of 5 discordant pairs
  CHECK_THAT(m.detail, Contains("4 right->wrong, 1 wrong->right of 10"));
  CHECK(paired_test(base, base).p == 1.0);

  // d = 1, 2, 3, 4: mean 2.5, sd sqrt(5/3), t = 2.5 / (sd / 2) = 3.8730, df 3.
  const TestResult t = paired_test({0, 0, 0, 0}, {1, 2, 3, 4});
  CHECK(t.method == "paired-t");
  CHECK(t.effect == Approx(2.5));
  CHECK(t.p == Approx(t_p_by_integration(2.5 / (std::sqrt(5.0 / 3) / 2), 3)).epsilon(1e-7));
  CHECK(paired_t_test({1, 2}, {2, 3}).p == 0.0);   // every example moved by exactly +1
  CHECK(paired_t_test({1, 2}, {1, 2}).p == 1.0);
  CHECK(std::isnan(paired_t_test({1}, {2}).p));     // one pair: nothing to test
  // Seed means (not 0/1) take the t-test.
  CHECK(paired_test({0.5, 1, 0}, {0.5, 0.5, 0}).method == "paired-t");
}

TEST_CASE("significance: average of tasks, stderr z, Holm", "[unit][regress]") {
  // Part A: 100 docs, 10 right->wrong (d = -1 on 10, 0 on 90); part B: unchanged.
  PairedPart a{ones_then_zeros(100, 0), ones_then_zeros(90, 10)};
  PairedPart b{ones_then_zeros(50, 50), ones_then_zeros(50, 50)};
  // mean d_A = -0.1, var_A = (10 * 0.81 + 90 * 0.01) / 99 = 9 / 99; se = sqrt(var_A / 100) / 2.
  const TestResult avg = average_of_parts_test({a, b});
  const double se = std::sqrt(9.0 / 99 / 100) / 2;
  CHECK(avg.effect == Approx(-0.05));
  CHECK(avg.p == Approx(std::erfc(0.05 / se / std::sqrt(2.0))));

  const TestResult z = stderr_z_test(72, 1, 70, 1);
  CHECK(z.p == Approx(std::erfc(2 / std::sqrt(2.0) / std::sqrt(2.0))));
  CHECK(std::isnan(stderr_z_test(72, NAN, 70, NAN).p));
  CHECK(stderr_z_test(72, NAN, 70, NAN).method == "none");

  const auto h = holm_adjust({0.01, 0.04, NAN, 0.03, 0.005});
  CHECK(h[0] == Approx(0.03));  // sorted: 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> running max
  CHECK(h[1] == Approx(0.06));
  CHECK(std::isnan(h[2]));
  CHECK(h[3] == Approx(0.06));
  CHECK(h[4] == Approx(0.02));
  CHECK(holm_adjust({0.9, 0.8})[0] == 1.0);
}
