// The report's chart geometry (ticks, clip range, scale) and chart data (series, panels, paper overlay),
// against values derived by hand in the comments; and the partial-evaluation marks of every format.
#include "harness/report/chart_data.h"
#include "harness/report/chart_geometry.h"
#include "harness/report/render.h"
#include "harness/report/report_table.h"
#include "harness/store/results_db.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <cmath>

using Catch::Matchers::Contains;
using namespace ptq::report;

TEST_CASE("nice_axis: 1-2-5 steps at any scale, every tick on a multiple of the step", "[unit][report][chart]") {
  // 5.47..21.88: raw step 16.41 / 5 = 3.28 -> 5; axis 5..25.
  Axis a = nice_axis(5.47, 21.88);
  CHECK(a.step == Approx(5));
  CHECK(a.ticks == std::vector<double>{5, 10, 15, 20, 25});
  CHECK(a.decimals == 0);
  // A narrow tiny-model range 1.32..1.39: raw 0.014 -> 0.02; axis 1.32..1.40 (not 1.30: 1.32/0.02 is 65.99999...).
  a = nice_axis(1.32, 1.39);
  CHECK(a.step == Approx(0.02));
  REQUIRE(a.ticks.size() == 5);
  CHECK(a.ticks.front() == Approx(1.32));
  CHECK(a.ticks.back() == Approx(1.40));
  CHECK(a.decimals == 2);
  CHECK(tick_label(a.ticks[2], a.decimals) == "1.36");
  // Accuracies 36..64.9: raw 5.78 -> 10; axis 30..70.
  a = nice_axis(36, 64.9);
  CHECK(a.ticks == std::vector<double>{30, 40, 50, 60, 70});
  // 0.2 steps print one decimal; -0 prints as 0.
  a = nice_axis(-0.3, 0.5);  // raw 0.16 -> 0.2
  CHECK(a.step == Approx(0.2));
  CHECK(a.decimals == 1);
  CHECK(tick_label(a.ticks[2], 1) == "0.0");
  CHECK(tick_label(-0.0, 1) == "0.0");
}

TEST_CASE("panel_range clips the bad side at 4x the reference", "[unit][report][chart]") {
  // Perplexity with FP 5.47 and collapsed RTN runs: [5.47, 4 x 5.47 = 21.88].
  ValueRange r = panel_range({6.1, 7.3, 1230, 4800}, 5.47, false);
  CHECK(r.lo == Approx(5.47));
  CHECK(r.hi == Approx(21.88));
  // Nothing collapsed: the data's own range.
  r = panel_range({6.1, 7.3}, 5.47, false);
  CHECK(r.hi == Approx(7.3));
  // Accuracy, FP 64.9: floor 64.9 / 4 = 16.2 lies below every point, so nothing is clipped.
  r = panel_range({36, 50}, 64.9, true);
  CHECK(r.lo == Approx(36));
  CHECK(r.hi == Approx(64.9));
  r = panel_range({2, 50}, 64.9, true);
  CHECK(r.lo == Approx(16.225));
  // No FP: the median of 5, 6, 7, 1000 is 6.5, so the cap is 26.
  r = panel_range({5, 6, 7, 1000, NAN}, NAN, false);
  CHECK(r.lo == Approx(5));
  CHECK(r.hi == Approx(26));
  // One value: 5 % either side.
  r = panel_range({10}, NAN, false);
  CHECK(r.lo == Approx(9.5));
  CHECK(r.hi == Approx(10.5));
}

TEST_CASE("place and LinearScale", "[unit][report][chart]") {
  const Axis a = nice_axis(5.47, 21.88);  // 5..25
  CHECK(place(30, a) == Placement::kAbove);
  CHECK(place(4, a) == Placement::kBelow);
  CHECK(place(25, a) == Placement::kInside);
  const LinearScale y{5, 25, 200, 50};
  CHECK(y(15) == Approx(125));
  CHECK(y(25) == Approx(50));
}

namespace {

Row row(const std::string& setting, const std::string& method, const std::string& paper_method, double wiki, double paper = NAN) {
  Row r;
  r.setting = setting, r.label = method, r.method = method, r.paper_method = paper_method;
  Stat s;
  s.mean = wiki, s.n = 1, s.stderr_value = 0.1;
  r.ours[{"m", "wikitext2_ppl"}] = s;
  if (std::isfinite(paper)) {
    PaperValue p;
    p.value = paper, p.paper = "P", p.table = "T";
    r.paper[{"m", "wikitext2_ppl"}] = p;
  }
  return r;
}

}  // namespace

TEST_CASE("build_figure: a series per method and group variant, paper numbers on their own points", "[unit][report][chart]") {
  ReportTable t;
  t.models = {"m"};
  t.metrics = {"wikitext2_ppl", "piqa"};
  t.rows = {row("W16A16", "fp", "FP16", 5.47), row("W4A16", "rtn", "RTN", 6.1, 6.11),
            row("W4A16g128", "omniquant", "OmniQuant", 5.6, 5.58), row("W3A16", "omniquant", "OmniQuant", 6.5),
            row("W4A4", "omniquant", "OmniQuant", 12.0, 14.26)};
  const ChartFigure f = build_figure(t, "m");
  CHECK(f.metrics == std::vector<std::string>{"wikitext2_ppl"});  // PIQA alone is not plotted
  CHECK(f.series == std::vector<std::string>{"RTN", "OmniQuant g128", "OmniQuant"});
  CHECK(f.wbits == std::vector<int>{3, 4});
  CHECK(f.abits == std::vector<int>{16, 4});
  REQUIRE(f.panels.size() == 2);
  const ChartPanel& a16 = f.panels[0];
  CHECK(a16.fp == 5.47);
  CHECK_FALSE(a16.higher_is_better);
  REQUIRE(a16.series.size() == 3);
  CHECK(a16.series[1].name == "OmniQuant g128");
  CHECK(a16.series[1].points.at(0).paper.value == 5.58);
  REQUIRE(a16.series[2].points.size() == 1);  // OmniQuant per-channel: W3 only at A16
  CHECK(a16.series[2].points[0].wbits == 3);
  CHECK_FALSE(a16.series[2].points[0].paper.has());
  const ChartPanel& a4 = f.panels[1];
  REQUIRE(a4.series.size() == 1);
  CHECK(a4.series[0].style == 2);  // the same colour and marker as OmniQuant at A16
  CHECK(a4.series[0].points[0].paper.value == 14.26);
}

TEST_CASE("chart fixture: paper numbers match by setting and group size, and --limit is marked in every format", "[unit][report][chart]") {
  ptq::test::TempDir dir;
  ptq::store::ResultsDb db(dir.file("p.db"));
  const std::string papers = ptq::test::write_chart_fixture(dir.file("results"));
  db.ingest(dir.file("results"));
  db.import_papers({papers});
  const ReportTable t = build_report(db, "charts");
  const ChartFigure f = build_figure(t, "llama-2-7b");
  CHECK(f.abits == std::vector<int>{16, 8, 6, 4});
  CHECK(f.wbits == std::vector<int>{2, 3, 4, 6, 8});
  const auto& a16 = f.panels.at(0);  // wikitext2 at A16
  REQUIRE(a16.metric == "wikitext2_ppl");
  const auto point = [&](const std::string& series, int wbits) {
    for (const auto& s : a16.series)
      for (const auto& p : s.points)
        if (s.name == series && p.wbits == wbits) return p;
    FAIL("no point " << series << " W" << wbits);
    return ChartPoint{};
  };
  CHECK(point("OmniQuant g128", 2).paper.value == 11.06);
  CHECK_FALSE(point("OmniQuant", 2).paper.has());
  CHECK(point("RTN", 3).paper.value == 539.48);
  CHECK(point("OmniQuant", 4).ours.n == 2);

  // GPTQ W4A16's PIQA and average: 10 of 1838 documents.
  REQUIRE(t.rows.at(2).title() == "GPTQ");  // W4A16: RTN, GPTQ, ...
  REQUIRE(t.rows[2].setting == "W4A16");
  const Stat& piqa = t.rows[2].ours.at({"llama-2-7b", "piqa"});
  CHECK(piqa.partial());
  CHECK(piqa.docs == 10);
  CHECK(piqa.docs_total == 1838);
  CHECK_FALSE(t.rows[2].ours.at({"llama-2-7b", "wikitext2_ppl"}).partial());  // 166 of 166 segments
  const std::string md = render({t}, Format::kMarkdown);
  CHECK_THAT(md, Contains("§ partial evaluation (--limit): PIQA n=10 of 1838 documents, Avg. n=10 of 1838 documents"));
  CHECK_THAT(md, Contains("§ |"));
  CHECK_THAT(render({t}, Format::kLatex), Contains("$^{\\S}$") && Contains("PIQA n=10 of 1838 documents"));
  // n_docs, n_docs_total, then best_vs_next_p (empty: GPTQ is not W4A16's best PIQA) and the two size
  // columns (empty: the chart fixture records no size on disk)
  CHECK_THAT(render({t}, Format::kCsv), Contains("charts,llama-2-7b,LLaMA-2-7B,W4A16,gptq,piqa,") && Contains(",10,1838,,,\n"));
  const std::string html = render({t}, Format::kHtml);
  CHECK_THAT(html, Contains("&sect; partial evaluation (--limit): PIQA n=10 of 1838 documents"));
  CHECK_THAT(html, Contains("n = 10 of 1838 documents (--limit)"));
  CHECK(html.find("<svg") < html.find("<table"));  // charts before the wide table
  CHECK_THAT(html, Contains("class=\"mk arrow\""));  // RTN W2A16 at 4800 is beyond the axis
  CHECK_THAT(html, Contains(">4800<"));             // ... labelled with its value
  CHECK_THAT(html, Contains("class=\"pp\""));       // hollow paper markers
  CHECK_THAT(html, Contains("OmniQuant, Table 1 (chart_papers.json)"));  // the Δ table's source column
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // no external resource
}
