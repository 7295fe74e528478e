// `ptqbench plan` where the models are not (a login node), `ptqbench run --plan` where they are (a compute
// node): the plan says which run ids are provisional, a cell whose model is still missing is bad input
// (exit 2, nothing written), and a cell run beside its model lands under the id a plan made there has.
// Also: the paper-protocol warning on plan's stderr.
#include "harness/run/plan.h"
#include "tests/support/cli_runner.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

constexpr const char* kVar = "PTQ_TEST_OFFLINE_MODELS";

// A random model under <dir>/models/rand, FP + RTN W4A16 on a token-id stream, its path through ${kVar}.
std::string write_offline_spec(const TempDir& dir, const nlohmann::json& extra = nlohmann::json::object()) {
  ptq::test::write_random_checkpoint(dir.file("models/rand"), ptq::test::tiny_config(), 7);
  ptq::test::write_token_ids(dir.file("ids.npy"), 4 * 32, 31, 5);
  nlohmann::json spec = {{"name", "offline"},
                         {"models", {{{"id", "rand"}, {"path", std::string("${") + kVar + "}/rand"}}}},
                         {"methods", {{{"name", "rtn"}, {"settings", {"W4A16"}}}}},
                         {"evaluators", {{"seqlen", 32}, {"tasks", {{{"task", "tokens"}, {"data", dir.file("ids.npy")}}}}}},
                         {"runtime", {{"threads", 1}}}};
  spec.update(extra);
  ptq::test::write_text(dir.file("spec.json"), spec.dump(2));
  return dir.file("spec.json");
}

}  // namespace

TEST_CASE("plan without the models marks provisional ids, and run --plan finds the model or fails with exit 2",
          "[integration][runner]") {
  TempDir dir;
  const std::string spec = write_offline_spec(dir);
  ::unsetenv(kVar);
  const auto p = run_ptqbench({"plan", spec, "-o", dir.file("plan.jsonl")});
  REQUIRE(p.exit_code == 0);
  CHECK_THAT(p.err, Contains("models[0].path: \"${PTQ_TEST_OFFLINE_MODELS}/rand\": environment variable "
                             "PTQ_TEST_OFFLINE_MODELS is not set; model rand's fingerprint is deferred and the run ids of "
                             "its 2 cells are provisional"));
  const std::string text = ptq::test::read_text(dir.file("plan.jsonl"));
  CHECK_THAT(text, Contains("\"fingerprint\":\"deferred\"") && Contains("\"run_id_provisional\":true"));

  const std::vector<std::string> cell = {"run", "--plan", dir.file("plan.jsonl"), "--index", "1", "--results", dir.file("results")};
  const auto unset = run_ptqbench(cell);
  CHECK(unset.exit_code == 2);
  CHECK_THAT(unset.err, Contains("plan.jsonl: cell 1 (rtn W4A16 rand): model path: ") &&
                            Contains("environment variable PTQ_TEST_OFFLINE_MODELS is not set"));
  CHECK(std::count(unset.err.begin(), unset.err.end(), '\n') == 1);
  ::setenv(kVar, dir.file("elsewhere").c_str(), 1);
  const auto missing = run_ptqbench(cell);
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("model directory not found: " + dir.file("elsewhere/rand")));
  CHECK_FALSE(fs::exists(dir.file("results")));

  // Beside the model: the cell's result is under the id a plan made there gives it.
  ::setenv(kVar, dir.file("models").c_str(), 1);
  REQUIRE(run_ptqbench({"plan", spec, "-o", dir.file("beside.jsonl")}).exit_code == 0);
  const std::string id = ptq::run::read_plan(dir.file("beside.jsonl")).at(1).run_id;
  const auto ok = run_ptqbench(cell);
  CHECK(ok.exit_code == 0);
  CHECK(fs::exists(dir.file("results/runs/" + id + "/DONE")));
  ::unsetenv(kVar);
}

TEST_CASE("plan warns when a row does not follow the protocol of the paper number it is compared with",
          "[integration][runner]") {
  TempDir dir;
  const nlohmann::json record = {{"paper", "Test"}, {"table", "Table 1"}, {"model", "Rand"}, {"setting", "W4A16"},
                                 {"group_size", nullptr}, {"method", "RTN"}, {"metric", "tokens_ppl"}, {"value", 9.0},
                                 {"verified", true}, {"protocol", {{"config", {{"range", "gptq_nearest"}}}}}};
  ptq::test::write_text(dir.file("paper.json"), nlohmann::json::array({record}).dump());
  const std::string spec = write_offline_spec(dir, {{"papers", {dir.file("paper.json")}}});
  ::setenv(kVar, dir.file("models").c_str(), 1);
  nlohmann::json doc = nlohmann::json::parse(ptq::test::read_text(spec));
  doc["models"][0]["paper_model"] = "Rand";
  ptq::test::write_text(spec, doc.dump());
  const auto p = run_ptqbench({"plan", spec, "-o", dir.file("plan.jsonl")});
  CHECK(p.exit_code == 0);
  CHECK_THAT(p.err, Contains("ptqbench: warning: " + spec + ": row \"rtn\" (rand W4A16): config.range is \"minmax\" here "
                             "but \"gptq_nearest\" in the protocol of paper.json Table 1"));
  doc["methods"][0]["config"] = {{"range", "gptq_nearest"}};
  ptq::test::write_text(spec, doc.dump());
  CHECK_THAT(run_ptqbench({"plan", spec, "-o", dir.file("plan.jsonl")}).err, !Contains("warning"));
  ::unsetenv(kVar);
}
