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
#include <map>
#include <optional>
#include <tuple>

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

// A verified record of a paper-number file (experiments/papers/*.json).
nlohmann::json paper_record(const std::string& paper, const std::string& model, const std::string& setting,
                            const std::string& method, const std::string& metric, double value) {
  return {{"paper", paper},   {"table", "T1"},   {"model", model},   {"setting", setting}, {"group_size", nullptr},
          {"method", method}, {"metric", metric}, {"value", value}, {"source", "s"},       {"verified", true}};
}

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
  CHECK_THAT(md, Contains(" 5.74¹ | -0.02 |"));  // ¹: from P1, the first of the two papers the values come from
  CHECK_THAT(md, Contains("49.50†²"));
  CHECK_THAT(md, Contains("paper: the number the marked paper reports (¹ P1, ² P2); Δ = ours − paper"));
  // Issue #30: the runs' size on disk after each setting, once per setting group: FP 16 bits, 4-bit per
  // channel 4.0098 (LLaMA-2-7B's GPTQ-packed linears, result_fixtures.cpp).
  CHECK_THAT(md, Contains("| Setting | bits/w | Method    |"));
  CHECK_THAT(md, Contains("| W16A16  |     16 | FP        |"));
  CHECK_THAT(md, Contains("| W4A16   |   4.01 | RTN       |"));
  CHECK_THAT(md, Contains("|         |        | OmniQuant |"));
  CHECK_THAT(md, Contains("bits/w: bits per linear weight as the GPTQ-packed export stores them (scales, zero points "
                          "and g_idx included, linears kept in float16 at 16)."));
  check_golden("report.md", md);
  check_golden("report.tex", ptq::report::render({t}, ptq::report::Format::kLatex));
  check_golden("report.csv", ptq::report::render({t}, ptq::report::Format::kCsv));
}

TEST_CASE("HTML report is one standalone page with small-multiple SVG charts per model", "[unit][report]") {
  Fixture f;
  const auto t = ptq::report::build_report(f.db, "golden");
  const std::string html = ptq::report::render({t}, ptq::report::Format::kHtml);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  // A panel per activation setting (A16, A4) and plotted metric (WikiText2, C4, Avg.): 6 inline <svg>.
  size_t panels = 0;
  for (size_t pos = 0; (pos = html.find("<svg class=\"panel\"", pos)) != std::string::npos; ++pos) ++panels;
  CHECK(panels == 6);
  CHECK_THAT(html, Contains("<h2>golden &mdash; llama-2-7b (paper: LLaMA-2-7B)</h2>"));
  // RTN W4A4 (WikiText2 1234.5) lies beyond 4 x FP = 21.9: an arrow at the edge, labelled.
  CHECK_THAT(html, Contains("class=\"mk arrow\"") && Contains(">1234<"));
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

TEST_CASE("paper numbers come only from the experiment's own papers, in their declared order", "[unit][report]") {
  // Issue #25: with SliderQuant's file imported too, OmniQuant table 2 showed SliderQuant's FP16 zero-shot
  // numbers (79.43) as the paper's, chosen by import order among every file in the database.
  TempDir dir;
  ptq::store::ResultsDb db(dir.file("ptq.db"));
  const std::string omni = dir.file("omniquant.json"), slider = dir.file("sliderquant.json"), other = dir.file("other.json");
  ptq::test::write_text(omni, nlohmann::json::array({paper_record("OmniQuant", "LLaMA-1-7B", "W16A16", "FP16", "piqa", 77.47)}).dump());
  ptq::test::write_text(slider, nlohmann::json::array({paper_record("SliderQuant", "LLaMA-1-7B", "W16A16", "FP16", "piqa", 79.43),
                                                       paper_record("SliderQuant", "LLaMA-1-7B", "W16A16", "FP16", "arc_easy", 73.15)})
                                    .dump());
  ptq::test::write_text(other, nlohmann::json::array({paper_record("Other", "LLaMA-1-7B", "W16A16", "FP16", "piqa", 1.0)}).dump());
  const std::vector<std::pair<std::string, std::vector<std::string>>> experiments = {
      {"table2", {omni}}, {"table1", {omni, slider}}, {"slider-first", {slider, omni}}};
  for (const auto& [experiment, papers] : experiments) {
    ptq::test::FakeRun fp;
    fp.experiment = experiment, fp.model = "llama-7b", fp.paper_model = "LLaMA-1-7B", fp.papers = papers;
    fp.setting = "W16A16", fp.method = "fp", fp.paper_method = "FP16";
    fp.metrics = {{"piqa", 78.0}, {"arc_easy", 75.0}};
    ptq::test::write_fake_run(dir.file("results"), fp);
  }
  db.ingest(dir.file("results"));
  db.import_papers({other, slider, omni});  // in the database: Other first, then SliderQuant, then OmniQuant
  const ptq::report::Column piqa{"llama-7b", "piqa"}, arc{"llama-7b", "arc_easy"};

  const auto table2 = ptq::report::build_report(db, "table2");
  CHECK(table2.paper_files == std::vector<std::string>{"omniquant.json"});
  REQUIRE(table2.rows.size() == 1);
  CHECK(table2.rows[0].paper.at(piqa).value == 77.47);
  CHECK(table2.rows[0].paper.count(arc) == 0);  // only SliderQuant reports it, and table 2 does not name it
  CHECK(table2.paper_sources == std::vector<std::string>{"OmniQuant"});
  CHECK_THAT(ptq::report::render({table2}, ptq::report::Format::kMarkdown), Contains("paper: the number OmniQuant reports"));

  const auto table1 = ptq::report::build_report(db, "table1");
  CHECK(table1.rows.at(0).paper.at(piqa).value == 77.47);  // the first declared paper, whatever the import order
  CHECK(table1.rows.at(0).paper.at(arc).value == 73.15);   // the next one fills in what the first lacks
  CHECK(table1.paper_sources == std::vector<std::string>{"OmniQuant", "SliderQuant"});
  const std::string md = ptq::report::render({table1}, ptq::report::Format::kMarkdown);
  CHECK_THAT(md, Contains("77.47¹") && Contains("73.15²") && Contains("(¹ OmniQuant, ² SliderQuant)"));
  CHECK_THAT(ptq::report::render({table1}, ptq::report::Format::kLatex), Contains("77.47$^{1}$"));

  CHECK(ptq::report::build_report(db, "slider-first").rows.at(0).paper.at(piqa).value == 79.43);
}

TEST_CASE("an ablation row has no paper number unless its experiment entry names one", "[unit][report]") {
  // Issue #25: cbq-no-cfp showed CBQ's own number and a delta against it.
  TempDir dir;
  ptq::store::ResultsDb db(dir.file("ptq.db"));
  const std::string papers = dir.file("cbq.json");
  ptq::test::write_text(papers, nlohmann::json::array({paper_record("CBQ", "LLaMA-2-7B", "W4A4", "CBQ", "wikitext2_ppl", 9.0)}).dump());
  // paper_row unset: a cell written before it existed (its paper_method is the full method's).
  const std::vector<std::pair<std::string, std::optional<bool>>> rows = {
      {"cbq", std::nullopt}, {"cbq-no-cfp", std::nullopt}, {"cbq-window-1", false}, {"cbq-as-published", true}};
  for (const auto& [label, paper_row] : rows) {
    ptq::test::FakeRun run;
    run.experiment = "ablation", run.setting = "W4A4", run.method = "cbq", run.label = label, run.paper_method = "CBQ";
    run.paper_row = paper_row, run.papers = {papers};
    run.index = static_cast<int64_t>(label.size());
    run.metrics = {{"wikitext2_ppl", 10.0 + static_cast<double>(label.size())}};
    ptq::test::write_fake_run(dir.file("results"), run);
  }
  db.ingest(dir.file("results"));
  const auto t = ptq::report::build_report(db, "ablation");
  std::map<std::string, bool> has_paper;
  for (const auto& r : t.rows) has_paper[r.label] = r.paper.count({"llama-2-7b", "wikitext2_ppl"}) > 0;
  CHECK(has_paper ==
        std::map<std::string, bool>{{"cbq", true}, {"cbq-no-cfp", false}, {"cbq-window-1", false}, {"cbq-as-published", true}});
}

TEST_CASE("an Avg. over other tasks than the papers' six gets no paper number, and a note says why", "[unit][report]") {
  // Issue #28: a spec averaging 3 tasks was compared with the papers' six-task Avg.
  TempDir dir;
  ptq::store::ResultsDb db(dir.file("ptq.db"));
  const std::string papers = dir.file("p.json");
  ptq::test::write_text(papers, nlohmann::json::array({paper_record("P", "LLaMA-2-7B", "W4A4", "OmniQuant", "zeroshot_avg", 52.0),
                                                       paper_record("P", "LLaMA-2-7B", "W6A6", "OmniQuant", "zeroshot_avg", 60.0)})
                                    .dump());
  const std::vector<std::string> six = {"winogrande", "piqa", "arc_easy", "arc_challenge", "boolq", "hellaswag"};  // any order
  for (const std::string setting : {"W4A4", "W6A6"}) {
    ptq::test::FakeRun run;
    run.experiment = "avg", run.setting = setting, run.method = "omniquant", run.label = "omniquant", run.paper_method = "OmniQuant";
    run.papers = {papers}, run.index = setting == "W4A4" ? 0 : 1;
    run.zeroshot_average = setting == "W4A4" ? std::vector<std::string>{"piqa", "arc_easy", "boolq"} : six;
    run.metrics = {{"zeroshot_avg", 50.0}};
    ptq::test::write_fake_run(dir.file("results"), run);
  }
  db.ingest(dir.file("results"));
  db.import_papers({papers});
  const auto t = ptq::report::build_report(db, "avg");
  std::map<std::string, bool> has_paper;
  for (const auto& r : t.rows) has_paper[r.setting] = r.paper.count({"llama-2-7b", "zeroshot_avg"}) > 0;
  CHECK(has_paper == std::map<std::string, bool>{{"W4A4", false}, {"W6A6", true}});
  CHECK(t.average_note == "Avg. of 3 of the papers' 6 tasks: piqa, arc_easy, boolq: not the papers' average, so no paper number beside it");
  CHECK_THAT(ptq::report::render_markdown(t, {}), Contains("Avg. of 3 of the papers' 6 tasks"));
  CHECK_THAT(ptq::report::render_latex(t, {}), Contains("piqa, arc\\_easy, boolq"));
}

TEST_CASE("a paper's own re-implementation of a method is marked ‡, apart from unverified numbers", "[unit][report]") {
  // Issue #25: SliderQuant's re-implementation of CBQ showed as CBQ's number without a mark.
  TempDir dir;
  ptq::store::ResultsDb db(dir.file("ptq.db"));
  const std::string papers = dir.file("sliderquant.json");
  nlohmann::json reimplemented = paper_record("SliderQuant", "LLaMA-2-7B", "W4A16", "CBQ", "wikitext2_ppl", 5.67);
  reimplemented["reimplementation"] = true;
  nlohmann::json unverified = paper_record("SliderQuant", "LLaMA-2-7B", "W4A16", "OmniQuant", "wikitext2_ppl", 5.74);
  unverified["verified"] = false;
  ptq::test::write_text(papers, nlohmann::json::array({reimplemented, unverified}).dump());
  for (const auto& [method, paper_method] : std::vector<std::pair<std::string, std::string>>{{"cbq", "CBQ"}, {"omniquant", "OmniQuant"}}) {
    ptq::test::FakeRun run;
    run.experiment = "reimpl", run.setting = "W4A16", run.method = method, run.paper_method = paper_method;
    run.papers = {papers}, run.index = method == "cbq" ? 0 : 1;
    run.metrics = {{"wikitext2_ppl", method == "cbq" ? 5.8 : 5.9}};
    ptq::test::write_fake_run(dir.file("results"), run);
  }
  db.ingest(dir.file("results"));
  const auto t = ptq::report::build_report(db, "reimpl");
  REQUIRE(t.rows.size() == 2);
  const ptq::report::Column wiki{"llama-2-7b", "wikitext2_ppl"};
  CHECK(t.rows[0].paper.at(wiki).reimplementation);
  CHECK(t.rows[0].paper.at(wiki).verified);
  CHECK_FALSE(t.rows[1].paper.at(wiki).reimplementation);
  const std::string md = ptq::report::render({t}, ptq::report::Format::kMarkdown);
  CHECK_THAT(md, Contains("5.67‡ |") && Contains("5.74† |"));
  CHECK_THAT(md, Contains("‡ re-implementation by SliderQuant, not a number from the method's own paper"));
  CHECK_THAT(ptq::report::render({t}, ptq::report::Format::kLatex), Contains("5.67$^{\\ddagger}$"));
  CHECK_THAT(ptq::report::render({t}, ptq::report::Format::kHtml), Contains("5.67&Dagger;"));
  const std::string csv = ptq::report::render({t}, ptq::report::Format::kCsv);
  CHECK_THAT(csv, Contains(",paper_reimplementation,") && Contains(",SliderQuant,") && Contains(",SliderQuant,0.13,true,"));
}

TEST_CASE("bits/w: per model where models differ, theoretical sizes in parentheses, none before issue #30", "[unit][report]") {
  TempDir dir;
  ptq::store::ResultsDb db(dir.file("ptq.db"));
  const auto size = [](double bits, const char* kind) {
    return nlohmann::json{{"bits_per_weight", bits}, {"effective_bits_per_weight", bits}, {"size_kind", kind}};
  };
  // (setting, model, size): m-b's W6A6 run is from before sizes were recorded.
  const std::vector<std::tuple<std::string, std::string, nlohmann::json>> runs = {
      {"W16A16", "m-a", size(16, "float16")},           {"W16A16", "m-b", size(16, "float16")},
      {"W4A16g128", "m-a", size(4.25, "gptq_packed")},  {"W4A16g128", "m-b", size(4.1875, "gptq_packed")},
      {"W6A6", "m-a", size(6.0716, "theoretical")},     {"W6A6", "m-b", nullptr}};
  int64_t index = 0;
  for (const auto& [setting, model, s] : runs) {
    ptq::test::FakeRun run;
    run.experiment = "sizes", run.model = model, run.setting = setting, run.index = index++, run.size = s;
    run.method = setting == "W16A16" ? "fp" : "rtn";
    run.metrics = {{"wikitext2_ppl", 6.0}};
    ptq::test::write_fake_run(dir.file("results"), run);
    run.experiment = "old", run.size = nullptr;  // the same runs without sizes
    ptq::test::write_fake_run(dir.file("results"), run);
  }
  db.ingest(dir.file("results"));
  const auto t = ptq::report::build_report(db, "sizes");
  REQUIRE(t.models == std::vector<std::string>{"m-a", "m-b"});
  CHECK(t.sizes.at({"W4A16g128", "m-b"}).bits_per_weight == 4.1875);
  CHECK(t.sizes.at({"W6A6", "m-a"}).theoretical);
  CHECK(t.sizes.count({"W6A6", "m-b"}) == 0);
  const std::string md = ptq::report::render({t}, ptq::report::Format::kMarkdown);
  CHECK_THAT(md, Contains("| W16A16    |          16 | FP     |"));  // equal for both models: once
  CHECK_THAT(md, Contains("| W4A16g128 | 4.25 / 4.19 | rtn    |"));
  CHECK_THAT(md, Contains("| W6A6      |  (6.07) / - | rtn    |"));  // m-b's run recorded no size
  CHECK_THAT(md, Contains(", in parentheses the theoretical size where the bits have no packed layout, a / b: per "
                          "model in column order."));
  const std::string tex = ptq::report::render({t}, ptq::report::Format::kLatex);
  CHECK_THAT(tex, Contains("\\begin{tabular}{lrlrr}"));
  CHECK_THAT(tex, Contains("Setting & bits/w & Method & WikiText2 & WikiText2 \\\\"));
  CHECK_THAT(tex, Contains(" &  &  & \\multicolumn{1}{c}{m-a (LLaMA-2-7B)}") && Contains("\\cmidrule(lr){4-4}"));
  CHECK_THAT(tex, Contains("W4A16g128 & 4.25 / 4.19 & rtn & "));
  CHECK_THAT(tex, Contains("scales, zero points and g\\_idx included"));
  const std::string html = ptq::report::render({t}, ptq::report::Format::kHtml);
  CHECK_THAT(html, Contains("<th class=\"l\">Setting</th><th>bits/w</th><th class=\"l\">Method</th>"));
  CHECK_THAT(html, Contains("<td>4.25 / 4.19</td>") && Contains("<td>(6.07) / -</td>"));
  const std::string csv = ptq::report::render({t}, ptq::report::Format::kCsv);
  CHECK_THAT(csv, Contains(",best_vs_next_p,effective_bits_per_weight,bits_theoretical\n"));
  CHECK_THAT(csv, Contains("sizes,m-b,LLaMA-2-7B,W4A16g128,rtn,wikitext2_ppl,6,,1,,,,,,0.1,100,,,4.1875,false\n"));
  CHECK_THAT(csv, Contains("sizes,m-a,LLaMA-2-7B,W6A6,rtn,wikitext2_ppl,6,,1,,,,,,0.1,100,,,6.0716,true\n"));
  CHECK_THAT(csv, Contains("sizes,m-b,LLaMA-2-7B,W6A6,rtn,wikitext2_ppl,6,,1,,,,,,0.1,100,,,,\n"));

  // Runs from before sizes were recorded: the tables are as they were, without the column or its note.
  const auto old = ptq::report::build_report(db, "old");
  CHECK(old.sizes.empty());
  const std::string old_md = ptq::report::render({old}, ptq::report::Format::kMarkdown);
  CHECK_THAT(old_md, Contains("| Setting   | Method |"));
  CHECK(old_md.find("bits/w") == std::string::npos);
  CHECK(ptq::report::render({old}, ptq::report::Format::kLatex).find("bits/w") == std::string::npos);
  CHECK(ptq::report::render({old}, ptq::report::Format::kHtml).find("bits/w") == std::string::npos);
}
