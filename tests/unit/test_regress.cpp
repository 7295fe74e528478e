// Regression checks against a baseline: tolerances per metric kind, missing metrics, improvements.
#include "report/regress.h"
#include "store/results_db.h"
#include "support/result_fixtures.h"
#include "support/test_env.h"
#include "util/errors.h"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using ptq::report::Finding;
using ptq::test::TempDir;

namespace {

nlohmann::json baseline_with(const std::string& method, const std::string& setting, const std::string& metric, double v) {
  return {{"format", 1},
          {"experiment", "golden"},
          {"tolerance", {{"ppl", 0.01}, {"acc", 1.0}}},
          {"metrics", {{{"model", "llama-2-7b"}, {"setting", setting}, {"method", method}, {"metric", metric}, {"value", v}}}}};
}

}  // namespace

TEST_CASE("regress: ppl relative, accuracy absolute, missing counts as regression", "[unit][regress]") {
  TempDir dir;
  ptq::test::write_golden_fixture(dir.file("results"));
  ptq::store::ResultsDb db(dir.file("ptq.db"));
  db.ingest(dir.file("results"));
  const auto kind = [&](const nlohmann::json& b) { return ptq::report::regress(db, b, nullptr).findings.at(0).kind; };
  // RTN W4A16 wikitext2 is 6.1157: 1 % above 6.06 is 6.1206 -> within; above 6.05 (6.1105) -> regressed.
  CHECK(kind(baseline_with("rtn", "W4A16", "wikitext2_ppl", 6.06)) == Finding::kWithin);
  CHECK(kind(baseline_with("rtn", "W4A16", "wikitext2_ppl", 6.05)) == Finding::kRegressed);
  CHECK(kind(baseline_with("rtn", "W4A16", "wikitext2_ppl", 6.20)) == Finding::kImproved);
  // OmniQuant's seeds average to 5.72.
  CHECK(kind(baseline_with("omniquant", "W4A16", "wikitext2_ppl", 5.70)) == Finding::kWithin);
  CHECK(kind(baseline_with("omniquant", "W4A16", "wikitext2_ppl", 5.60)) == Finding::kRegressed);
  // PIQA (percent, higher is better): 76.5 vs 77.4 is within 1 point, vs 77.6 is not.
  CHECK(kind(baseline_with("rtn", "W4A16", "piqa", 77.4)) == Finding::kWithin);
  CHECK(kind(baseline_with("rtn", "W4A16", "piqa", 77.6)) == Finding::kRegressed);
  // The failed W3A16 cell has no metrics.
  CHECK(kind(baseline_with("rtn", "W3A16", "wikitext2_ppl", 9.0)) == Finding::kMissing);

  ptq::report::Tolerance loose{0.5, 5.0};
  CHECK(ptq::report::regress(db, baseline_with("rtn", "W4A16", "piqa", 77.6), &loose).findings.at(0).kind == Finding::kWithin);

  const auto b = ptq::report::make_baseline(db, "golden", {});
  CHECK(b["metrics"].size() == 4 + 4 + 4 + 4);  // piqa_acc is a detail, not a baseline metric
  const auto r = ptq::report::regress(db, b, nullptr);
  CHECK(r.regressions() == 0);
  const std::string line = Finding{Finding::kRegressed, "m", "W4A4", "rtn", "wikitext2_ppl", 10, 11}.describe({});
  CHECK_THAT(line, Contains("REGRESSED") && Contains("+10.00%"));
}

TEST_CASE("regress: tolerance strings and malformed baselines", "[unit][regress]") {
  const auto t = ptq::report::parse_tolerance("ppl=0.02,acc=0.5", {});
  CHECK(t.ppl_rel == 0.02);
  CHECK(t.acc_abs == 0.5);
  CHECK(ptq::report::parse_tolerance("acc=2", {}).ppl_rel == 0.01);
  CHECK_THROWS_WITH(ptq::report::parse_tolerance("ppl=x", {}), Contains("expected ppl=FRACTION"));
  CHECK_THROWS_AS(ptq::report::parse_tolerance("loss=1", {}), ptq::InputError);
  TempDir dir;
  ptq::test::write_text(dir.file("b.json"), R"({"experiment": "x", "metrics": [{"model": "m"}]})");
  CHECK_THROWS_WITH(ptq::report::read_baseline(dir.file("b.json")), Contains("metrics[0].setting"));
  ptq::test::write_text(dir.file("c.json"), R"({"experiment": "x", "metrics": [], "tolerence": {}})");
  CHECK_THROWS_WITH(ptq::report::read_baseline(dir.file("c.json")), Contains("unknown key \"tolerence\""));
}
