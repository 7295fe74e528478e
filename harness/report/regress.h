// Regression checks against a stored baseline (results/baselines/NAME.json): every metric of an
// experiment, keyed by (model, setting, method label, metric), with a tolerance per kind:
//   ppl  relative: current may exceed the baseline by this fraction (default 0.01 = 1 %)
//   acc  absolute percentage points an accuracy may drop (default 1.0)
// A metric in the baseline that the database lacks counts as a regression (a cell failed or vanished).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ptq::store {
class ResultsDb;
}

namespace ptq::report {

struct Tolerance {
  double ppl_rel = 0.01;
  double acc_abs = 1.0;
};
// "ppl=0.02,acc=0.5" (either part may be left out) over `base`. InputError for anything else.
Tolerance parse_tolerance(const std::string& text, Tolerance base);

struct Finding {
  enum Kind { kRegressed, kMissing, kImproved, kWithin } kind;
  std::string model, setting, method, metric;
  double baseline = 0, current = 0;
  std::string describe(const Tolerance& tol) const;
};

struct RegressResult {
  std::vector<Finding> findings;
  Tolerance tolerance;
  int regressions() const;
};

// Current means over seeds: [{"model","setting","method","metric","value"}] of `experiment`, sorted.
nlohmann::json current_metrics(store::ResultsDb& db, const std::string& experiment);

// Reads the baseline (InputError naming the file and key for malformed files).
nlohmann::json read_baseline(const std::string& path);
RegressResult regress(store::ResultsDb& db, const nlohmann::json& baseline, const Tolerance* override_tolerance);
// The baseline document for the database's current results (tolerance kept from `previous` if given).
nlohmann::json make_baseline(store::ResultsDb& db, const std::string& experiment, const Tolerance& tol);

}  // namespace ptq::report
