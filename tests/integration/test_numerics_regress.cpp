// Reproducible numerics and statistically sound regression checks, end to end on the embedded tiny model:
//  - one trained cell (OmniQuant W4A4, LWC + LET) with 1 and with 2 threads gives identical metrics and
//    identical per-example logs, and records what produced them;
//  - `regress` does not flag that re-run (and --exact finds every digit equal), and flags a real
//    regression - the same method with LET switched off, run for real - with paired tests on the
//    per-example samples, while a change within noise is listed as noise;
//  - bad numerics input: one line naming the key or the missing pin.
#include "harness/io/json_file.h"
#include "harness/run/plan.h"
#include "tests/support/cli_runner.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <regex>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace {

// OmniQuant W4A4 on the tiny model: 4 calibration windows, 2 epochs; 200 documents per zero-shot task.
nlohmann::json spec(const std::string& let, int threads) {
  const std::string src = ptq::test::source_dir();
  return {{"name", "injected"},
          {"models", {{{"id", "tiny"}, {"path", src + "/experiments/models/tiny-llama"}}}},
          {"fp_baseline", false},
          {"methods", {{{"name", "omniquant"}, {"config", {{"epochs", 2}, {"let", let}}}, {"settings", {"W4A4"}}}}},
          {"calibration", {{"dataset", "wikitext2"}, {"data", src + "/experiments/data/tiny/wikitext2"}, {"n", 4}, {"seqlen", 128}}},
          {"evaluators", {{"data_dir", src + "/experiments/data/tiny"}, {"seqlen", 512}, {"limit", 200}, {"batch_size", 8},
                          {"tasks", {"wikitext2", "piqa", "arc_easy", "hellaswag", "boolq"}}}},
          {"runtime", {{"numerics", "reproducible"}, {"threads", threads}}}};
}

// Runs the spec into <dir>/<name>/ and returns its one cell's result.
nlohmann::json run_cell(const TempDir& dir, const std::string& name, const nlohmann::json& s) {
  ptq::test::write_text(dir.file(name + ".json"), s.dump());
  const auto r = run_ptqbench({"run", dir.file(name + ".json"), "--results", dir.file(name), "--no-cache"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto cells = ptq::run::read_plan(dir.file(name + "/plans/injected.jsonl"));
  REQUIRE(cells.size() == 1);
  return ptq::io::read_json_file(dir.file(name + "/runs/" + cells[0].run_id + "/result.json"));
}

}  // namespace

TEST_CASE("reproducible numerics: 1 and 2 threads give identical cells, regress flags a real regression, not a re-run",
          "[integration][numerics]") {
  TempDir dir;
  const auto one = run_cell(dir, "one", spec("auto", 1));
  const auto two = run_cell(dir, "two", spec("auto", 2));
  CHECK(one["metrics"] == two["metrics"]);
  // WikiText-2: one record per 512-token segment of the test split (its token count is in make_tiny.json).
  const int64_t segments = ptq::io::read_json_file(ptq::test::source_dir() + "/experiments/models/tiny-llama/make_tiny.json")
                               ["test_tokens"].get<int64_t>() / 512;
  for (const char* task : {"wikitext2", "piqa", "arc_easy", "hellaswag", "boolq"}) {
    INFO(task);
    CHECK(one["details"][task]["samples"]["sha256"] == two["details"][task]["samples"]["sha256"]);
    CHECK(one["details"][task]["samples"]["records"] == (std::string(task) == "wikitext2" ? segments : 200));
  }
  const auto& numerics = two["provenance"]["environment"]["numerics"];
  CHECK(numerics["mode"] == "reproducible");
  CHECK(numerics["libtorch"]["cpu_capability"] == "AVX2");
  CHECK(numerics["blas"]["core"] == "Haswell");
  CHECK(numerics["threads"]["gemm_tiles"] == 2);
  CHECK(numerics["threads"]["libtorch_intra_op"] == 1);
  CHECK(one["provenance"]["environment"]["numerics"]["threads"]["gemm_tiles"] == 1);
  CHECK_FALSE(numerics["cpu"]["model"].get<std::string>().empty());

  // The 1-thread run is the baseline; the 2-thread run is a re-run.
  const std::string baseline = dir.file("baselines/injected.json");
  fs::create_directories(dir.file("baselines"));
  const auto u = run_ptqbench({"regress", "--baseline", baseline, "--db", dir.file("one/ptqbench.db"), "--update",
                               "--experiment", "injected"});
  REQUIRE(u.exit_code == 0);
  CHECK(fs::exists(dir.file("baselines/injected.samples.json.gz")));
  const auto rerun = run_ptqbench({"regress", "--baseline", baseline, "--db", dir.file("two/ptqbench.db"), "--exact"});
  INFO(rerun.out);
  CHECK(rerun.exit_code == 0);
  CHECK_THAT(rerun.out, Contains("6 metrics, 0 regressed or missing (0 differ in their digits)"));

  // LET off at W4A4: every metric moves, and the paired tests see it document by document.
  run_cell(dir, "worse", spec("off", 0));
  const auto bad = run_ptqbench({"regress", "--baseline", baseline, "--db", dir.file("worse/ptqbench.db")});
  INFO(bad.out);
  CHECK(bad.exit_code == 3);
  CHECK_THAT(bad.out, Contains("REGRESSED  tiny W4A4 omniquant wikitext2_ppl") && Contains(fmt::format("paired t-test on {} paired examples", segments)));
  CHECK_THAT(bad.out, Contains("REGRESSED  tiny W4A4 omniquant piqa") && Contains("exact McNemar on 200 paired examples"));
  CHECK_THAT(bad.out, Contains("REGRESSED  tiny W4A4 omniquant zeroshot_avg"));
  // Every line says its p-value; the exit code counts only the significant ones.
  const std::regex regressed("(\\d+) regressed or missing");
  std::smatch m;
  REQUIRE(std::regex_search(bad.out, m, regressed));
  int flagged = 0;
  for (size_t pos = bad.out.find("REGRESSED"); pos != std::string::npos; pos = bad.out.find("REGRESSED", pos + 1)) ++flagged;
  CHECK(std::stoi(m[1]) == flagged);
  for (size_t pos = bad.out.find("noise "); pos != std::string::npos; pos = bad.out.find("noise ", pos + 1))
    CHECK(bad.out.substr(pos, bad.out.find('\n', pos) - pos).find(">= alpha") != std::string::npos);
}

TEST_CASE("numerics: unknown modes and unavailable pins are one clear line", "[integration][numerics]") {
  TempDir dir;
  nlohmann::json s = spec("auto", 1);
  s["runtime"]["numerics"] = "fast";
  ptq::test::write_text(dir.file("s.json"), s.dump());
  const auto r = run_ptqbench({"run", dir.file("s.json"), "--results", dir.file("r")});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("s.json: runtime: \"numerics\" is \"fast\", expected one of: native, reproducible"));

  const std::string src = ptq::test::source_dir();
  const std::vector<std::string> eval = {"eval", "--model", src + "/experiments/models/tiny-llama", "--task", "wikitext2",
                                         "--data-dir", src + "/experiments/data/tiny", "--limit", "2", "--numerics"};
  auto with_mode = [&](const std::string& mode) {
    auto args = eval;
    args.push_back(mode);
    return args;
  };
  const auto bad = run_ptqbench(with_mode("fast"));
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Contains("--numerics") && Contains("'fast'") && Contains("native, reproducible"));
  // The pins are missing and the process may not restart itself to set them: refused, exit 6.
  const auto refused = run_ptqbench(with_mode("reproducible"), "env -u OPENBLAS_CORETYPE PTQ_NO_REEXEC=1");
  CHECK(refused.exit_code == 6);
  CHECK_THAT(refused.err, Contains("reproducible numerics unavailable") && Contains("OPENBLAS_CORETYPE=Haswell"));
  // Without the pins in its environment, ptqbench restarts itself with them and records them.
  const auto json = run_ptqbench({"eval", "--model", src + "/experiments/models/tiny-llama", "--task", "wikitext2",
                                  "--data-dir", src + "/experiments/data/tiny", "--limit", "2", "--numerics",
                                  "reproducible", "--json"},
                                 "env -u OPENBLAS_CORETYPE -u ATEN_CPU_CAPABILITY");
  REQUIRE(json.exit_code == 0);
  const auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["environment"]["numerics"]["pins"]["OPENBLAS_CORETYPE"] == "Haswell");
  CHECK(doc["environment"]["numerics"]["blas"]["core"] == "Haswell");
  CHECK(doc["environment"]["numerics"]["libtorch"]["cpu_capability"] == "AVX2");
}
