// The README's main job on the embedded default, guarded by its stored baseline: `ptqbench run
// experiments/quickstart.json` then `ptqbench regress --baseline results/baselines/quickstart.json`.
// The quickstart computes in reproducible numerics, so every cell - FP, RTN and the trained OmniQuant
// cells - must give the baseline's numbers to the last digit on any x86-64 machine with AVX2 (--exact),
// whichever CPU made the baseline. The check must be able to fail: a baseline without its samples and with
// a better FP perplexity is reported, in units of standard errors.
#include "harness/io/json_file.h"
#include "tests/support/browser_check.h"
#include "tests/support/cli_runner.h"
#include "tests/support/readme_figure.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

TEST_CASE("quickstart on the embedded default matches its stored baseline", "[integration][quickstart]") {
  TempDir dir;
  const std::string src = ptq::test::source_dir();
  const auto r = run_ptqbench({"run", src + "/experiments/quickstart.json", "--results", dir.file("results"), "--no-cache"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("## quickstart — tiny-llama"));
  for (const auto& run : std::filesystem::directory_iterator(dir.file("results/runs")))
    CHECK_FALSE(std::filesystem::exists(run.path() / "work"));  // method checkpoints go once a cell is DONE
  const std::string db = dir.file("results/ptqbench.db");
  const std::string baseline = src + "/results/baselines/quickstart.json";
  const auto g = run_ptqbench({"regress", "--baseline", baseline, "--db", db});
  INFO(g.out);
  CHECK(g.exit_code == 0);
  CHECK_THAT(g.out, Contains("0 regressed or missing"));
  const auto exact = run_ptqbench({"regress", "--baseline", baseline, "--db", db, "--exact"});
  INFO(exact.out);
  CHECK(exact.exit_code == 0);
  CHECK_THAT(exact.out, Contains("0 regressed or missing (0 differ in their digits)"));

  // A baseline without per-example samples claiming lower WikiText-2 perplexity - 40 % lower for FP, 10 %
  // lower for RTN W2A16 - is judged by a z-test on the two standard errors: FP's (stderr ~2.9 %: the 83
  // segments of text with genuine uncertainty) regressed; RTN W2A16's (stderr ~8 % of 4683) is within noise
  // (about one standard error).
  nlohmann::json b = ptq::io::read_json_file(baseline);
  b.erase("samples");
  int edited = 0;
  for (auto& m : b["metrics"]) {
    if (m["metric"] != "wikitext2_ppl") continue;
    const bool fp = m["method"] == "fp", rtn_w2 = m["setting"] == "W2A16" && m["method"] == "rtn";
    if (fp || rtn_w2) {
      m["value"] = m["value"].get<double>() * (fp ? 0.6 : 0.9);
      ++edited;
    }
  }
  REQUIRE(edited == 2);
  ptq::test::write_text(dir.file("b.json"), b.dump());
  const auto bad = run_ptqbench({"regress", "--baseline", dir.file("b.json"), "--db", db});
  INFO(bad.out);
  CHECK(bad.exit_code == 3);
  CHECK_THAT(bad.out, Contains("REGRESSED  tiny-llama W16A16 fp wikitext2_ppl") && Contains("+66.67%") &&
                          Contains("z-test on standard errors"));
  CHECK_THAT(bad.out, Contains("noise      tiny-llama W2A16 rtn wikitext2_ppl"));
  CHECK_THAT(bad.out, Contains("1 regressed or missing") && Contains("stores no per-example samples"));

  // The README shows this very table (scripts/readme_figures wrote it): a change that moves a digit of the
  // quickstart must update the README too, on whichever CPU the suite runs.
  const std::string readme_command = "ptqbench report --experiment quickstart --no-costs";
  const auto table = run_ptqbench({"report", "--db", db, "--experiment", "quickstart", "--no-costs"});
  REQUIRE(table.exit_code == 0);
  CHECK(ptq::test::as_figure_text(table.out) == ptq::test::readme_figure(readme_command));

  // The run's HTML report in a real browser: every series of its charts visible (checked where Chromium is).
  if (const std::string chromium = ptq::test::find_chromium(); !chromium.empty()) {
    const auto html = run_ptqbench({"report", "--db", db, "--format", "html", "-o", dir.file("report.html")});
    INFO(html.err);
    REQUIRE(html.exit_code == 0);
    const auto v = ptq::test::check_series_visible(chromium, dir.file("report.html"), dir.path());
    INFO("hidden " << v.hidden.size() << ", missing " << v.missing.size() << ", coincident " << v.coincident.size());
    CHECK(v.every_series_visible());
  }
}
