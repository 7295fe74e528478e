// Whether the bold best of a report's setting and column is significantly better than the runner-up,
// so that a bold value among noise does not read as a win. Per setting and column (model, metric), the
// best quantized value is tested against the second best with the tests `ptqbench regress` uses
// (significance.h), best first:
//   paired, when both runs have per-example samples of the metric on the same documents / segments:
//     exact McNemar (accuracy), paired t-test on segment NLL (perplexity), and for the zero-shot average
//     the z-test on the per-task paired differences (every task of the average has samples on both sides);
//   otherwise the z-test on the two evaluations' standard errors (both must be recorded);
//   otherwise no test (and no mark).
// Only single-seed values are tested (a mean over seeds has no per-example sample of its own), and only
// where a setting has two or more quantized values. Two-sided at alpha 0.05, without a correction for
// the many comparisons of a table: the result is a display mark per cell, not a claim about the table.
#pragma once

#include "harness/report/significance.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace ptq::store {
class ResultsDb;
}

namespace ptq::report {

struct ReportTable;

constexpr double kBestAlpha = 0.05;  // two-sided; a display mark, so no multiple-comparison correction

struct BestTest {
  std::string best, runner_up;  // row labels (Row::label) of the setting
  std::string runner_up_title;  // the runner-up as the table prints it (Row::title)
  TestResult test;              // baseline = runner-up, current = best
  std::string basis;            // "paired" (per-example samples) or "stderr"
  int64_t paired_examples = 0;  // examples (documents, segments; summed over tasks for the average)
  bool significant() const { return test.p < kBestAlpha; }
  // "exact McNemar on 200 paired examples vs RTN: 0 right->wrong, 2 wrong->right of 200; p = 0.5"
  std::string describe() const;
};

// (setting, (model, metric)) -> the test of its best against its runner-up; untested ones are absent.
using BestTests = std::map<std::pair<std::string, std::pair<std::string, std::string>>, BestTest>;

// The tests of every setting and column of `t` (its rows and columns built), reading the runs' samples.
BestTests best_vs_runner_up(store::ResultsDb& db, const ReportTable& t);

}  // namespace ptq::report
