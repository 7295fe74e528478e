// The significance tests `ptqbench regress` uses to tell a real change from evaluation noise.
//   paired, per example (both sides scored the same documents / segments):
//     binary outcomes (accuracy)  -> exact McNemar: a two-sided sign test on the discordant pairs
//     real values (segment NLL)   -> paired t-test on the differences
//     an average of tasks         -> z-test on the mean of the per-task paired mean differences
//   unpaired, from summary numbers (a baseline without samples) -> z-test on value difference over
//     sqrt(se_a^2 + se_b^2) (conservative for paired data: it ignores the positive correlation)
//   many metrics at once -> Holm's step-down adjustment (family-wise error at alpha).
// p-values are two-sided. Pure arithmetic, no LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ptq::report {

struct TestResult {
  double p = 1;          // two-sided p-value (1 when there is nothing to test: identical samples)
  double effect = 0;     // current - baseline in the metric's sample units (mean difference)
  std::string method;    // "mcnemar", "paired-t", "paired-z", "stderr-z"
  std::string detail;    // e.g. "b=12 c=3" or "t=2.31 df=85"
};

// Two-sided normal p-value of a z statistic.
double normal_two_sided_p(double z);
// Two-sided p-value of Student's t with `df` degrees of freedom (regularised incomplete beta).
double student_t_two_sided_p(double t, double df);
// Exact two-sided sign test: P(|X - n/2| >= |k - n/2|) for X ~ Binomial(n, 1/2), capped at 1.
double sign_test_two_sided_p(int64_t k, int64_t n);

// `baseline` and `current` are per-example values of the same examples, in the same order.
TestResult mcnemar_exact(const std::vector<double>& baseline, const std::vector<double>& current);
TestResult paired_t_test(const std::vector<double>& baseline, const std::vector<double>& current);
// McNemar when every value is 0 or 1 (one seed on each side), otherwise the paired t-test (seed means).
TestResult paired_test(const std::vector<double>& baseline, const std::vector<double>& current);

// The average of several tasks' means: each part is a paired sample (same examples on both sides).
struct PairedPart {
  std::vector<double> baseline, current;
};
TestResult average_of_parts_test(const std::vector<PairedPart>& parts);

// Unpaired summary comparison; p = 1 with method "none" when no stderr is known on either side.
TestResult stderr_z_test(double baseline, double baseline_se, double current, double current_se);

// Holm-adjusted p-values, in the order given: sort ascending, p_(i) * (m - i + 1), running maximum, cap 1.
std::vector<double> holm_adjust(const std::vector<double>& p);

}  // namespace ptq::report
