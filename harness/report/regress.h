// Regression checks against a stored baseline (results/baselines/NAME.json + NAME.samples.json.gz):
// every metric of an experiment, keyed by (model, setting, method label, metric). A metric counts as
// REGRESSED only when it got worse by more than the tolerance AND the change is significant:
//   tolerance   ppl  relative: current may exceed the baseline by this fraction (default 0.01 = 1 %)
//               acc  absolute percentage points an accuracy may drop (default 1.0)
//   significance  a two-sided test with Holm's correction across all metrics compared (default alpha
//               0.01): paired per example where both sides have samples (McNemar on the same documents
//               for an accuracy, a paired t-test on per-segment NLL for a perplexity, a z-test on the
//               per-task paired differences for the zero-shot average); otherwise a z-test in units of
//               the two standard errors; with neither (an old baseline), the tolerance alone decides.
// Changes beyond the tolerance that are not significant are reported as noise, with their p-values.
// A metric in the baseline that the database lacks counts as a regression (a cell failed or vanished).
// --exact instead requires every value (and every per-example sample) to equal the baseline's digits:
// the reproducible-numerics promise.
#pragma once

#include "harness/report/baseline_file.h"
#include "harness/report/significance.h"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ptq::store {
class ResultsDb;
}

namespace ptq::report {

// "ppl=0.02,acc=0.5" (either part may be left out) over `base`. InputError for anything else.
Tolerance parse_tolerance(const std::string& text, Tolerance base);
// A significance level in (0, 1); InputError naming --alpha otherwise.
double parse_alpha(double alpha);

struct Finding {
  enum Kind { kRegressed, kMissing, kImproved, kNoise, kWithin, kDiffers } kind = kWithin;
  std::string model, setting, method, metric;
  double baseline = 0, current = 0;
  std::string basis;             // "paired", "stderr" or "tolerance only"
  TestResult test;               // p NaN when the tolerance alone decided
  double p_holm = 0;             // Holm-adjusted p (NaN with test.p)
  int64_t paired_examples = 0;   // examples both sides scored (paired basis)
  std::string describe(const Tolerance& tol, double alpha) const;
};

struct RegressResult {
  std::vector<Finding> findings;
  Tolerance tolerance;
  double alpha = 0.01;
  bool exact = false;
  std::vector<std::string> notices;  // numerics that differ, a baseline without samples, ...
  int regressions() const;           // regressed + missing (+ differing with exact)
  int count(Finding::Kind kind) const;
};

struct RegressOptions {
  std::optional<Tolerance> tolerance;  // default: the baseline's
  double alpha = 0.01;
  bool exact = false;
};

// Current means over seeds: [{"model","setting","method","metric","value","stderr","n",["of"]}] of
// `experiment`, sorted; with `samples`, each metric's per-example values (mean over seeds) by
// "model|setting|method|metric".
nlohmann::json current_metrics(store::ResultsDb& db, const std::string& experiment,
                               std::map<std::string, store::MetricSamples>* samples = nullptr,
                               std::vector<std::string>* numerics = nullptr);

RegressResult regress(store::ResultsDb& db, const Baseline& baseline, const RegressOptions& options);

// The two sides' values on the examples both scored (by id), in id order: what the paired tests take.
PairedPart pair_samples(const store::MetricSamples& base, const store::MetricSamples& cur);
// A TestResult::method as words: "mcnemar" -> "exact McNemar", "stderr-z" -> "z-test on standard errors".
std::string test_name(const std::string& method);
}  // namespace ptq::report
