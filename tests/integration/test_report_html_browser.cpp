// The HTML report in a real browser: `ptqbench report --format html` on the chart fixture (four methods,
// nine settings, perplexities from 5.5 to 4800, paper numbers, a --limit run) rendered by headless
// Chromium, whose own layout must show every series (tests/support/browser_check.h). Skips (exit 77)
// without Chromium; scripts/setup installs it with PTQ_WITH_CHROMIUM=1, as CI does.
#include "harness/store/results_db.h"
#include "tests/support/browser_check.h"
#include "tests/support/cli_runner.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

using ptq::test::TempDir;

TEST_CASE("HTML report shows every chart series in headless Chromium", "[integration][report][browser]") {
  const std::string chromium = ptq::test::find_chromium();
  if (chromium.empty()) ptq::test::skip_test("no chromium-headless-shell or chromium on PATH (PTQ_WITH_CHROMIUM=1 scripts/setup)");
  TempDir dir;
  const std::string papers = ptq::test::write_chart_fixture(dir.file("results"));
  {
    ptq::store::ResultsDb db(dir.file("ptq.db"));
    db.ingest(dir.file("results"));
    db.import_papers({papers});
  }
  const auto r = ptq::test::run_ptqbench({"report", "--db", dir.file("ptq.db"), "--format", "html", "-o", dir.file("report.html")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto v = ptq::test::check_series_visible(chromium, dir.file("report.html"), dir.path(), dir.file("report.png"));
  // Keep the screenshot for a look by eye: PTQ_SCREENSHOT_DIR=/some/dir.
  if (const char* keep = std::getenv("PTQ_SCREENSHOT_DIR"); keep && *keep)
    std::filesystem::copy_file(dir.file("report.png"), std::string(keep) + "/report.png", std::filesystem::copy_options::overwrite_existing);
  INFO("browser " << v.seconds << " s; hidden " << v.hidden.size() << ", missing " << v.missing.size() << ", coincident "
                  << v.coincident.size() << "\n" << v.dom.substr(0, 400));
  // 4 methods x 6 weight-only settings (AWQ too) - 6 where AWQ has no A8/A6/A4 - plus OmniQuant's second
  // seed averaged into one point: per metric panel 3 x 6 + 4 x 6 ... counted from the fixture below.
  // Weight-only: 4 series per setting x 6 settings = 24 points; weight-activation: 3 x 3 = 9; x 3 metrics
  // (WikiText2, C4, Avg.) = 99 markers.
  CHECK(v.markers == 99);
  // Series per figure: RTN, GPTQ, OmniQuant, AWQ and their g128 variants = 8.
  CHECK(v.series == 8);
  CHECK(v.missing.empty());
  CHECK(v.coincident.empty());
  CHECK(v.hidden.empty());
  CHECK(v.every_series_visible());
  CHECK(std::filesystem::file_size(dir.file("report.png")) > 10000);
}
