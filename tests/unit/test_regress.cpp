// Regression checks against a baseline: a change counts only when it is beyond the tolerance and
// significant; paired tests where both sides have per-example samples, standard errors where not, the
// tolerance alone for old baselines; missing metrics, improvements, exact comparison, baseline files.
#include "evaluators/sample_log.h"
#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/report/regress.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using Catch::Matchers::Contains;
using ptq::report::Finding;
using ptq::report::RegressOptions;
using ptq::test::TempDir;

namespace {

ptq::report::Baseline baseline_with(const std::string& method, const std::string& setting, const std::string& metric,
                                    double v, double se = NAN) {
  ptq::report::Baseline b;
  b.path = "b.json";
  b.experiment = "golden";
  b.tolerance = ptq::report::Tolerance{0.01, 1.0};
  nlohmann::json m = {{"model", "llama-2-7b"}, {"setting", setting}, {"method", method}, {"metric", metric}, {"value", v}};
  if (std::isfinite(se)) m["stderr"] = se;
  b.metrics = nlohmann::json::array({m});
  return b;
}

// The per-example records of the shared fixtures (tests/support/result_fixtures.h).
const auto& zeroshot_records = ptq::test::zeroshot_sample_records;
const auto& ppl_records = ptq::test::ppl_sample_records;

struct Scores {
  std::vector<int> piqa;
  std::vector<double> nll;
};

// 200 PIQA documents (150 right) and 40 WikiText-2 segments with NLL 1.0 + small per-segment variation.
Scores reference_scores() {
  Scores s;
  for (int i = 0; i < 200; ++i) s.piqa.push_back(i % 4 != 3);
  for (int i = 0; i < 40; ++i) s.nll.push_back(1.0 + 0.01 * ((i * 7) % 5));
  return s;
}

// One RTN cell of experiment "paired" with these per-example scores, ingested into <dir>/<name>.db.
std::unique_ptr<ptq::store::ResultsDb> database_with(const TempDir& dir, const std::string& name, const Scores& s) {
  ptq::test::FakeRun r;
  r.experiment = "paired", r.setting = "W4A16", r.method = "rtn";
  double acc = 0, nll = 0;
  for (const int c : s.piqa) acc += c;
  for (const double x : s.nll) nll += x;
  acc = 100 * acc / static_cast<double>(s.piqa.size());
  r.metrics = {{"piqa", acc}, {"piqa_acc", acc}, {"wikitext2_ppl", std::exp(nll / static_cast<double>(s.nll.size()))},
               {"zeroshot_avg", acc}};
  r.zeroshot_average = {"piqa"};
  r.samples = {{"piqa", zeroshot_records(s.piqa)}, {"wikitext2", ppl_records(s.nll)}};
  r.numerics = "reproducible";
  ptq::test::write_fake_run(dir.file(name), r);
  auto db = std::make_unique<ptq::store::ResultsDb>(dir.file(name + ".db"));
  db->ingest(dir.file(name));
  return db;
}

const Finding& finding(const ptq::report::RegressResult& r, const std::string& metric) {
  for (const auto& f : r.findings)
    if (f.metric == metric) return f;
  FAIL("no finding for " << metric);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("regress without samples: tolerance and a z-test in standard errors, missing counts", "[unit][regress]") {
  TempDir dir;
  ptq::test::write_golden_fixture(dir.file("results"));  // every metric with stderr 0.1
  ptq::store::ResultsDb db(dir.file("ptq.db"));
  db.ingest(dir.file("results"));
  const auto kind = [&](const ptq::report::Baseline& b) { return ptq::report::regress(db, b, {}).findings.at(0).kind; };
  // RTN W4A16 wikitext2 is 6.1157 (stderr 0.1). vs 6.06: within 1 %. vs 6.05: beyond 1 % but only
  // 0.66 standard errors -> noise. vs 5.0: 11 standard errors -> regressed.
  CHECK(kind(baseline_with("rtn", "W4A16", "wikitext2_ppl", 6.06, 0.001)) == Finding::kWithin);
  CHECK(kind(baseline_with("rtn", "W4A16", "wikitext2_ppl", 6.05, 0.001)) == Finding::kNoise);
  CHECK(kind(baseline_with("rtn", "W4A16", "wikitext2_ppl", 5.0, 0.001)) == Finding::kRegressed);
  CHECK(kind(baseline_with("rtn", "W4A16", "wikitext2_ppl", 7.0, 0.001)) == Finding::kImproved);
  // PIQA 76.5: vs 77.4 within 1 point; vs 77.6 beyond it by 1.1 points = 7.8 standard errors.
  CHECK(kind(baseline_with("rtn", "W4A16", "piqa", 77.4, 0.1)) == Finding::kWithin);
  CHECK(kind(baseline_with("rtn", "W4A16", "piqa", 77.6, 0.1)) == Finding::kRegressed);
  // The failed W3A16 cell has no metrics.
  CHECK(kind(baseline_with("rtn", "W3A16", "wikitext2_ppl", 9.0)) == Finding::kMissing);
  RegressOptions loose;
  loose.tolerance = ptq::report::Tolerance{0.5, 5.0};
  CHECK(ptq::report::regress(db, baseline_with("rtn", "W4A16", "piqa", 77.6, 0.1), loose).findings.at(0).kind == Finding::kWithin);

  const auto r = ptq::report::regress(db, baseline_with("rtn", "W4A16", "piqa", 77.6, 0.1), {});
  CHECK(std::any_of(r.notices.begin(), r.notices.end(),
                    [](const std::string& n) { return n.find("stores no per-example samples") != std::string::npos; }));
  CHECK_THAT(r.findings.at(0).describe(r.tolerance, r.alpha),
             Contains("REGRESSED  llama-2-7b W4A16 rtn piqa") && Contains("-1.10 points") &&
                 Contains("z-test on standard errors: -7.78 standard errors"));
}

TEST_CASE("regress: a baseline without standard errors falls back to the tolerance alone", "[unit][regress]") {
  TempDir dir;
  ptq::test::FakeRun run;
  run.setting = "W4A16", run.method = "rtn", run.stderr_value = NAN;
  run.metrics = {{"wikitext2_ppl", 6.1157}};
  ptq::test::write_fake_run(dir.file("results"), run);
  ptq::store::ResultsDb db(dir.file("ptq.db"));
  db.ingest(dir.file("results"));
  const auto r = ptq::report::regress(db, baseline_with("rtn", "W4A16", "wikitext2_ppl", 6.05), {});
  CHECK(r.findings.at(0).kind == Finding::kRegressed);
  CHECK(r.findings.at(0).basis == "tolerance only");
  CHECK(r.regressions() == 1);
}

TEST_CASE("regress with per-example samples: paired tests tell noise from a regression", "[unit][regress]") {
  TempDir dir;
  const Scores ref = reference_scores();
  auto base_db = database_with(dir, "base", ref);
  const std::string path = dir.file("baselines/paired.json");
  std::filesystem::create_directories(dir.file("baselines"));
  const auto doc = ptq::report::write_baseline(*base_db, "paired", {0.01, 0.5}, path);
  CHECK(doc["format"] == 2);
  CHECK(ptq::io::file_exists(dir.file("baselines/paired.samples.json.gz")));
  const ptq::report::Baseline baseline = ptq::report::read_baseline(path);
  CHECK(baseline.samples.size() == 2);  // piqa and wikitext2_ppl; zeroshot_avg is tested through its parts
  CHECK(baseline.numerics.size() == 1);

  SECTION("a re-run with the same samples: nothing flagged, every p = 1") {
    auto again = database_with(dir, "again", ref);
    RegressOptions exact;
    exact.exact = true;
    const auto r = ptq::report::regress(*again, baseline, exact);
    CHECK(r.regressions() == 0);
    CHECK(r.count(Finding::kWithin) == 3);
    for (const auto& f : r.findings) {
      CHECK(f.basis == "paired");
      CHECK(f.test.p == 1.0);
    }
  }
  SECTION("4 right->wrong, 2 wrong->right: -1 point beyond a 0.5 tolerance, but noise (McNemar p = 44/64)") {
    Scores s = ref;
    for (int i : {0, 1, 2, 4}) s.piqa[static_cast<size_t>(i)] = 0;   // were right (i % 4 != 3)
    for (int i : {3, 7}) s.piqa[static_cast<size_t>(i)] = 1;         // were wrong
    auto cur = database_with(dir, "noise", s);
    const auto r = ptq::report::regress(*cur, baseline, {});
    const Finding& f = finding(r, "piqa");
    CHECK(f.kind == Finding::kNoise);
    CHECK(f.test.method == "mcnemar");
    CHECK(f.test.p == Approx(44.0 / 64));
    CHECK(f.paired_examples == 200);
    CHECK_THAT(f.describe(r.tolerance, r.alpha), Contains("noise") && Contains("p=0.69"));
    CHECK(finding(r, "zeroshot_avg").kind == Finding::kNoise);
    CHECK(r.regressions() == 0);
    RegressOptions exact;
    exact.exact = true;
    CHECK(ptq::report::regress(*cur, baseline, exact).count(Finding::kDiffers) == 2);  // piqa and the average
  }
  SECTION("20 right->wrong and NLL up 0.05 on every segment: both regressed, Holm-adjusted") {
    Scores s = ref;
    int flipped = 0;
    for (size_t i = 0; i < s.piqa.size() && flipped < 20; ++i)
      if (s.piqa[i]) s.piqa[i] = 0, ++flipped;
    for (size_t i = 0; i < s.nll.size(); ++i) s.nll[i] += 0.05 + 0.001 * static_cast<double>(i % 3);
    auto cur = database_with(dir, "worse", s);
    const auto r = ptq::report::regress(*cur, baseline, {});
    const Finding& piqa = finding(r, "piqa");
    CHECK(piqa.kind == Finding::kRegressed);
    CHECK(piqa.current == Approx(65.0));
    CHECK(piqa.test.p == Approx(2.0 / (1 << 20)));
    CHECK(piqa.p_holm == Approx(2 * piqa.test.p));  // the second smallest of three (wikitext2's is smaller)
    const Finding& ppl = finding(r, "wikitext2_ppl");
    CHECK(ppl.kind == Finding::kRegressed);
    CHECK(ppl.test.method == "paired-t");
    CHECK(ppl.test.effect == Approx(0.051).epsilon(0.01));
    CHECK(r.regressions() == 3);  // piqa, its average, wikitext2
  }
}

TEST_CASE("regress: baseline files, their samples and malformed input", "[unit][regress]") {
  const auto t = ptq::report::parse_tolerance("ppl=0.02,acc=0.5", {});
  CHECK(t.ppl_rel == 0.02);
  CHECK(t.acc_abs == 0.5);
  CHECK(ptq::report::parse_tolerance("acc=2", {}).ppl_rel == 0.01);
  CHECK_THROWS_WITH(ptq::report::parse_tolerance("ppl=x", {}), Contains("expected ppl=FRACTION"));
  CHECK_THROWS_AS(ptq::report::parse_tolerance("loss=1", {}), ptq::InputError);
  CHECK_THROWS_WITH(ptq::report::parse_tolerance("ppls=0.01", {}), Contains("unknown kind 'ppls', did you mean 'ppl'?"));
  CHECK_THROWS_WITH(ptq::report::parse_alpha(0), Contains("--alpha 0: expected a significance level in (0, 1)"));
  CHECK_THROWS_AS(ptq::report::parse_alpha(NAN), ptq::InputError);
  TempDir dir;
  ptq::test::write_text(dir.file("b.json"), R"({"experiment": "x", "metrics": [{"model": "m"}]})");
  CHECK_THROWS_WITH(ptq::report::read_baseline(dir.file("b.json")), Contains("metrics[0].setting"));
  ptq::test::write_text(dir.file("c.json"), R"({"experiment": "x", "metrics": [], "tolerence": {}})");
  CHECK_THROWS_WITH(ptq::report::read_baseline(dir.file("c.json")), Contains("unknown key \"tolerence\""));

  // A samples file that does not match the baseline's hash is refused, naming it.
  auto db = database_with(dir, "base", reference_scores());
  const std::string path = dir.file("p.json");
  ptq::report::write_baseline(*db, "paired", {}, path);
  ptq::test::write_text(dir.file("p.samples.json.gz"), "{\"metrics\": []}\n");
  CHECK_THROWS_WITH(ptq::report::read_baseline(path), Contains("p.samples.json.gz: SHA-256"));
  std::filesystem::remove(dir.file("p.samples.json.gz"));
  CHECK_THROWS_WITH(ptq::report::read_baseline(path), Contains("not found") && Contains("p.samples.json.gz"));
}

TEST_CASE("ingest: per-example samples are verified against the result's hash", "[unit][regress]") {
  TempDir dir;
  auto db = database_with(dir, "base", reference_scores());
  CHECK(db->db().execAndGet("SELECT COUNT(*) FROM metric_samples").getInt() == 3);  // piqa, piqa_acc, wikitext2_ppl
  // Another run's log in place of this one's: ingest refuses it.
  const auto run_dir = *std::filesystem::directory_iterator(dir.file("base/runs"));
  ptq::eval::write_sample_log((run_dir.path() / "samples").string(), "piqa", zeroshot_records({1, 0, 1}));
  CHECK_THROWS_WITH(db->ingest(dir.file("base")), Contains("piqa.jsonl.gz: SHA-256"));
}
