// The report's bold best against its runner-up (report/best_significance.h): a best that is not
// significantly better (two-sided p >= 0.05) is marked ≈ in every format, with the p-value in the CSV.
// Each p-value is computed here by hand from the fixture's numbers (closed forms), not with the
// harness's statistics.
#include "harness/report/render.h"
#include "harness/report/report_table.h"
#include "harness/store/results_db.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using ptq::report::Column;
using ptq::test::TempDir;

namespace {

// The per-example records of the shared fixtures (tests/support/result_fixtures.h).
const auto& piqa_records = ptq::test::zeroshot_sample_records;
const auto& ppl_records = ptq::test::ppl_sample_records;

// 200 PIQA documents: the first `right` of them answered right.
std::vector<int> first_right(int right) {
  std::vector<int> c(200, 0);
  for (int i = 0; i < right; ++i) c[i] = 1;
  return c;
}

double percent(const std::vector<int>& c) {
  double s = 0;
  for (int x : c) s += x;
  return 100 * s / static_cast<double>(c.size());
}

// A single-seed W4A16 run of experiment "sig" (stderr 0.1 on every metric unless set).
ptq::test::FakeRun run(const std::string& method, int index) {
  ptq::test::FakeRun r;
  r.experiment = "sig", r.setting = "W4A16", r.method = method, r.index = index;
  r.paper_method = method == "rtn" ? "RTN" : "GPTQ";
  return r;
}

struct Db {
  TempDir dir;
  std::unique_ptr<ptq::store::ResultsDb> db;
  explicit Db(const std::vector<ptq::test::FakeRun>& runs) {
    for (const auto& r : runs) ptq::test::write_fake_run(dir.file("results"), r);
    db = std::make_unique<ptq::store::ResultsDb>(dir.file("ptq.db"));
    db->ingest(dir.file("results"));
  }
  ptq::report::ReportTable table() { return ptq::report::build_report(*db, "sig"); }
};

// PIQA runs of RTN and GPTQ (GPTQ better) with per-example samples, plus a WikiText2 value without samples.
Db piqa_pair(const std::vector<int>& rtn_correct, const std::vector<int>& gptq_correct) {
  auto rtn = run("rtn", 1), gptq = run("gptq", 2);
  rtn.metrics = {{"piqa", percent(rtn_correct)}, {"zeroshot_avg", percent(rtn_correct)}, {"wikitext2_ppl", 6.00}};
  gptq.metrics = {{"piqa", percent(gptq_correct)}, {"zeroshot_avg", percent(gptq_correct)}, {"wikitext2_ppl", 5.80}};
  rtn.zeroshot_average = gptq.zeroshot_average = {"piqa"};
  rtn.samples = {{"piqa", piqa_records(rtn_correct)}};
  gptq.samples = {{"piqa", piqa_records(gptq_correct)}};
  return Db({rtn, gptq});
}

const Column kPiqa{"llama-2-7b", "piqa"}, kWiki{"llama-2-7b", "wikitext2_ppl"};

// The z-test on two standard errors of 0.1, by hand: p = erfc(|z| / sqrt 2).
double stderr_p(double a, double b) { return std::erfc(std::fabs(a - b) / std::sqrt(0.1 * 0.1 + 0.1 * 0.1) / std::sqrt(2.0)); }

}  // namespace

TEST_CASE("a best that differs on 2 of 200 documents is marked ≈ with the exact McNemar p", "[unit][report]") {
  std::vector<int> rtn = first_right(150), gptq = rtn;
  gptq[150] = gptq[151] = 1;  // 2 discordant pairs, both wrong -> right
  Db f = piqa_pair(rtn, gptq);
  const auto t = f.table();
  const auto& test = t.best_tests.at({"W4A16", kPiqa});
  CHECK(test.best == "gptq");
  CHECK(test.runner_up == "rtn");
  CHECK(test.basis == "paired");
  CHECK(test.paired_examples == 200);
  // Sign test on 2 discordant pairs, both one way: P(X = 0) + P(X = 2) for X ~ Binomial(2, 1/2) = 0.5.
  CHECK(test.test.p == Approx(0.25 + 0.25));
  // WikiText2 has no samples: the z-test on the standard errors, 0.2 / sqrt(0.02) = sqrt 2, p = erfc(1).
  const auto& wiki = t.best_tests.at({"W4A16", kWiki});
  CHECK(wiki.basis == "stderr");
  CHECK(wiki.test.p == Approx(std::erfc(1.0)));
  CHECK(wiki.test.p == Approx(stderr_p(6.00, 5.80)));
  // Avg. (of PIQA alone here): the z-test on the paired differences, task by task. The differences are
  // 1 on 2 documents, 0 on 198: mean 0.01, sample variance (2 * 0.99^2 + 198 * 0.01^2) / 199.
  const auto& avg = t.best_tests.at({"W4A16", {"llama-2-7b", "zeroshot_avg"}});
  CHECK(avg.test.method == "paired-z");
  const double z = 0.01 / std::sqrt((2 * 0.99 * 0.99 + 198 * 0.01 * 0.01) / 199 / 200);
  CHECK(avg.test.p == Approx(std::erfc(z / std::sqrt(2.0))));  // 0.156

  const std::string md = ptq::report::render({t}, ptq::report::Format::kMarkdown);
  CHECK_THAT(md, Contains("**76.00**≈") && Contains("**5.80**≈"));
  CHECK_THAT(md, Contains("≈: not significantly better than the runner-up (paired test on per-example results, else a "
                          "z-test on the standard errors, p ≥ 0.05)"));
  const std::string tex = ptq::report::render({t}, ptq::report::Format::kLatex);
  CHECK_THAT(tex, Contains("\\textbf{76.00}$^{\\approx}$") && Contains("$^{\\approx}$: not significantly better"));
  CHECK_THAT(tex, Contains("p $\\geq$ 0.05"));
  const std::string csv = ptq::report::render({t}, ptq::report::Format::kCsv);
  // best_vs_next_p, then the size columns (empty: these runs recorded no size on disk).
  CHECK_THAT(csv, Contains(",stderr,n_docs,n_docs_total,best_vs_next_p,effective_bits_per_weight,bits_theoretical\n"));
  CHECK_THAT(csv, Contains("sig,llama-2-7b,LLaMA-2-7B,W4A16,gptq,piqa,76,") && Contains(",0.5,,\n"));
  CHECK_THAT(csv, Contains("W4A16,rtn,piqa,75,,1,,,,,,0.1,100,,,,\n"));  // the runner-up's p is empty
  const std::string html = ptq::report::render({t}, ptq::report::Format::kHtml);
  CHECK_THAT(html, Contains("<b>76.00</b><sup class=\"ns\" title=\"exact McNemar on 200 paired examples vs RTN: "
                            "0 right-&gt;wrong, 2 wrong-&gt;right of 200; p = 0.5\">&asymp;</sup>"));
  CHECK_THAT(html, Contains("&asymp;: not significantly better than the runner-up"));
}

TEST_CASE("a best that differs on 60 of 200 documents, all one way, is not marked", "[unit][report]") {
  Db f = piqa_pair(first_right(100), first_right(160));
  const auto t = f.table();
  // 60 discordant pairs, all one way: p = 2 * (1/2)^60.
  CHECK(t.best_tests.at({"W4A16", kPiqa}).test.p == Approx(2 * std::pow(0.5, 60)).epsilon(1e-9));
  CHECK(t.best_tests.at({"W4A16", kPiqa}).significant());
  const std::string md = ptq::report::render({t}, ptq::report::Format::kMarkdown);
  CHECK_THAT(md, Contains("**80.00** |"));
  CHECK_THAT(md, Contains("**5.80**≈"));  // WikiText2 is still within its standard errors
  CHECK_THAT(md, Contains("(z-test on the evaluations' standard errors, p ≥ 0.05)"));
  // best_vs_next_p, then the two size columns (empty: no size recorded).
  CHECK_THAT(ptq::report::render({t}, ptq::report::Format::kCsv), Contains(",1.734723476e-18,,\n"));
}

TEST_CASE("perplexities are compared by a paired t-test on segment NLLs", "[unit][report]") {
  auto rtn = run("rtn", 1), gptq = run("gptq", 2);
  const std::vector<double> a = {1.00, 1.10, 1.20}, b = {0.98, 1.09, 1.17};  // differences -0.02, -0.01, -0.03
  rtn.metrics = {{"wikitext2_ppl", std::exp(1.10)}};
  gptq.metrics = {{"wikitext2_ppl", std::exp(1.08)}};
  rtn.samples = {{"wikitext2", ppl_records(a)}};
  gptq.samples = {{"wikitext2", ppl_records(b)}};
  Db f({rtn, gptq});
  const auto t = f.table();
  const auto& test = t.best_tests.at({"W4A16", kWiki});
  CHECK(test.basis == "paired");
  CHECK(test.test.method == "paired-t");
  // Mean difference -0.02, sample sd 0.01, t = -0.02 / (0.01 / sqrt 3) = -2 sqrt 3, df = 2; Student's t
  // with 2 degrees of freedom has the closed form p = 1 - |t| / sqrt(2 + t^2).
  const double t_stat = 2 * std::sqrt(3.0);
  CHECK(test.test.p == Approx(1 - t_stat / std::sqrt(2 + t_stat * t_stat)).epsilon(1e-6));  // 0.0742
  CHECK_THAT(ptq::report::render({t}, ptq::report::Format::kMarkdown), Contains("**2.94**≈"));
  CHECK_THAT(ptq::report::render({t}, ptq::report::Format::kHtml), Contains("title=\"paired t-test on 3 paired examples vs RTN"));
}

TEST_CASE("runs without samples fall back to the standard errors, and without those, or with seeds, no test", "[unit][report]") {
  auto rtn = run("rtn", 1), gptq = run("gptq", 2), awq = run("awq", 3);
  rtn.metrics = {{"wikitext2_ppl", 6.00}, {"c4_ppl", 7.50}};
  gptq.metrics = {{"wikitext2_ppl", 5.60}, {"c4_ppl", 7.40}};
  awq.metrics = {{"wikitext2_ppl", 7.00}, {"c4_ppl", 8.00}};
  SECTION("standard errors recorded") {
    Db f({rtn, gptq, awq});
    const auto t = f.table();
    // WikiText2: GPTQ 5.60 against the runner-up RTN 6.00 (not AWQ): z = 0.4 / sqrt(0.02) = 2 sqrt 2.
    const auto& wiki = t.best_tests.at({"W4A16", kWiki});
    CHECK(wiki.runner_up == "rtn");
    CHECK(wiki.test.method == "stderr-z");
    CHECK(wiki.test.p == Approx(std::erfc(2.0)));  // 0.0047: significant
    CHECK(wiki.test.p == Approx(stderr_p(6.00, 5.60)));
    CHECK(t.best_tests.at({"W4A16", {"llama-2-7b", "c4_ppl"}}).test.p == Approx(stderr_p(7.50, 7.40)));  // 0.48
    const std::string md = ptq::report::render({t}, ptq::report::Format::kMarkdown);
    CHECK_THAT(md, Contains("**5.60** |") && Contains("**7.40**≈ |"));
  }
  SECTION("no standard errors: no test, no mark") {
    rtn.stderr_value = gptq.stderr_value = awq.stderr_value = NAN;
    Db f({rtn, gptq, awq});
    const auto t = f.table();
    CHECK(t.best_tests.empty());
    CHECK(ptq::report::render({t}, ptq::report::Format::kMarkdown).find("≈") == std::string::npos);
  }
  SECTION("a best over two seeds is not tested") {
    auto second = gptq;
    gptq.seed = 1, second.seed = 2;
    Db f({rtn, gptq, second, awq});
    CHECK(f.table().best_tests.empty());
  }
}
