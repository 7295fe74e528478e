// The README's main job on the embedded default, guarded by its stored baseline: `ptqbench run
// experiments/quickstart.json` then `ptqbench regress --baseline results/baselines/quickstart.json`.
// The check must be able to fail: a baseline with a better W4A4 perplexity than RTN gets is reported.
#include "io/json_file.h"
#include "support/cli_runner.h"
#include "support/test_env.h"

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

  // A baseline claiming RTN W4A4 reached 10 % lower WikiText-2 perplexity: the current result regressed.
  nlohmann::json b = ptq::io::read_json_file(baseline);
  bool edited = false;
  for (auto& m : b["metrics"])
    if (m["setting"] == "W4A4" && m["method"] == "rtn" && m["metric"] == "wikitext2_ppl") {
      m["value"] = m["value"].get<double>() * 0.9;
      edited = true;
    }
  REQUIRE(edited);
  ptq::test::write_text(dir.file("b.json"), b.dump());
  const auto bad = run_ptqbench({"regress", "--baseline", dir.file("b.json"), "--db", db});
  CHECK(bad.exit_code == 3);
  CHECK_THAT(bad.out, Contains("REGRESSED  tiny-llama W4A4 rtn wikitext2_ppl") && Contains("+11.11%"));
}
