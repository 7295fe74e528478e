// Reports on a fixed small database (support/result_fixtures): values computed by hand here, and the
// rendered md / LaTeX / CSV compared with golden files (tests/golden/; regenerate after an intended
// change with PTQ_UPDATE_GOLDEN=1 and review the diff).
#include "harness/report/render.h"
#include "harness/report/report_table.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>

using Catch::Matchers::Contains;
using ptq::test::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  ptq::store::ResultsDb db{dir.file("ptq.db")};
  Fixture() {
    const std::string papers = ptq::test::write_golden_fixture(dir.file("results"));
    db.ingest(dir.file("results"));
    db.import_papers({papers});
  }
};

void check_golden(const std::string& name, const std::string& actual) {
  const std::string path = ptq::test::source_dir() + "/tests/golden/" + name;
  if (const char* u = std::getenv("PTQ_UPDATE_GOLDEN"); u && std::string(u) == "1") ptq::test::write_text(path, actual);
  const std::string expected = ptq::test::read_text(path);
  INFO("golden file " << path << " (PTQ_UPDATE_GOLDEN=1 rewrites it)\n--- actual ---\n" << actual);
  CHECK(actual == expected);
}

}  // namespace

TEST_CASE("report rows, seeds and paper numbers on the fixture database", "[unit][report]") {
  Fixture f;
  const auto t = ptq::report::build_report(f.db, "golden");
  REQUIRE(t.models == std::vector<std::string>{"llama-2-7b"});
  CHECK(t.metrics == std::vector<std::string>{"wikitext2_ppl", "c4_ppl", "piqa", "zeroshot_avg"});  // piqa_acc is a detail
  REQUIRE(t.rows.size() == 4);
  CHECK(t.rows[0].title() == "FP");
  CHECK(t.rows[1].setting == "W4A16");
  CHECK(t.rows[1].title() == "RTN");
  CHECK(t.rows[2].title() == "OmniQuant");
  CHECK(t.rows[3].setting == "W4A4");
  const ptq::report::Column wiki{"llama-2-7b", "wikitext2_ppl"};
  const auto& omni = t.rows[2].ours.at(wiki);
  CHECK(omni.n == 2);
  CHECK(omni.mean == Approx(5.72));
  CHECK(omni.std == Approx(std::sqrt(2 * 0.02 * 0.02 / 1)));  // sample std of {5.70, 5.74}
  CHECK(t.rows[2].paper.at(wiki).value == 5.74);               // per-channel, not the g128 number
  CHECK(t.rows[0].paper.at(wiki).value == 5.47);
  CHECK_FALSE(t.rows[3].paper.at({"llama-2-7b", "piqa"}).verified);
  REQUIRE(t.failures.size() == 1);
  CHECK_THAT(t.failures[0], Contains("cuda out of memory"));
  REQUIRE(t.costs.size() == 4);
  CHECK(t.costs[2].quantize_s.mean == Approx(105));
}

TEST_CASE("report golden files: markdown, LaTeX, CSV", "[unit][report]") {
  Fixture f;
  const auto t = ptq::report::build_report(f.db, "golden");
  const std::string md = ptq::report::render({t}, ptq::report::Format::kMarkdown);
  // Hand-checked facts, independent of the golden file: mean +- std, the paper's number with delta,
  // bold best per setting group, the unverified mark.
  CHECK_THAT(md, Contains("**5.72** ± 0.03"));
  CHECK_THAT(md, Contains(" 5.74 | -0.02 |"));
  CHECK_THAT(md, Contains("49.50†"));
  check_golden("report.md", md);
  check_golden("report.tex", ptq::report::render({t}, ptq::report::Format::kLatex));
  check_golden("report.csv", ptq::report::render({t}, ptq::report::Format::kCsv));
}

TEST_CASE("HTML report is one standalone page with an SVG chart per model", "[unit][report]") {
  Fixture f;
  const auto t = ptq::report::build_report(f.db, "golden");
  const std::string html = ptq::report::render({t}, ptq::report::Format::kHtml);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_THAT(html, Contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK_THAT(html, Contains("<polyline"));  // RTN A16 and A4 lines
  CHECK_THAT(html, Contains("stroke-dasharray"));  // the FP reference line
  CHECK_THAT(html, Contains("&dagger;"));
  CHECK(html.find("<script") == std::string::npos);
}

TEST_CASE("report errors name the experiment and what exists", "[unit][report]") {
  Fixture f;
  CHECK_THROWS_WITH(ptq::report::build_report(f.db, "nope"), Contains("no runs of experiment 'nope'") && Contains("golden"));
  CHECK_THROWS_AS(ptq::report::parse_format("pdf"), ptq::InputError);
}

TEST_CASE("settings sort as in the papers' tables", "[unit][report]") {
  std::vector<std::string> s = {"W4A4", "W3A16g128", "W16A16", "W4A16g128", "W6A6", "W4A16", "W2A16"};
  std::sort(s.begin(), s.end(), ptq::report::setting_before);
  CHECK(s == std::vector<std::string>{"W16A16", "W4A16", "W4A16g128", "W3A16g128", "W2A16", "W6A6", "W4A4"});
}
