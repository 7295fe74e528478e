// Plans made where the models are not (a login node): the model's fingerprint is deferred, its cells' run
// ids are provisional and marked, and resolving them where the model is gives exactly the ids a plan made
// beside the model has. Plan lines hold each method's full config.
#include "harness/run/cell_runner.h"
#include "harness/run/experiment_spec.h"
#include "harness/run/fingerprint.h"
#include "harness/run/plan.h"
#include "harness/util/errors.h"
#include "methods/register_all.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

constexpr const char* kVar = "PTQ_TEST_DEFERRED_MODELS";

nlohmann::json spec_with_model(const std::string& path) {
  const std::string data = ptq::test::source_dir() + "/experiments/data/tiny";
  return {{"name", "deferred"},
          {"models", {{{"id", "tiny"}, {"path", path}}}},
          {"methods", {{{"name", "rtn"}, {"settings", {"W4A16"}}}, {{"name", "omniquant"}, {"settings", {"W4A4"}}}}},
          {"calibration", {{"data", data + "/wikitext2"}, {"n", 4}, {"seqlen", 64}}},
          {"evaluators", {{"data_dir", data}, {"seqlen", 128}, {"tasks", {"wikitext2"}}}}};
}

std::vector<ptq::run::Cell> plan(const nlohmann::json& doc) {
  return ptq::run::plan_cells(ptq::run::parse_experiment_spec(doc, "spec.json", "/"));
}

std::vector<int64_t> all_indices(const std::vector<ptq::run::Cell>& cells) {
  std::vector<int64_t> out;
  for (const auto& c : cells) out.push_back(c.index);
  return out;
}

}  // namespace

TEST_CASE("a model path with an unset variable is planned with its fingerprint deferred and provisional run ids",
          "[unit][spec]") {
  ::unsetenv(kVar);
  const nlohmann::json doc = spec_with_model(std::string("${") + kVar + "}/tiny-llama");
  const auto spec = ptq::run::parse_experiment_spec(doc, "spec.json", "/");
  CHECK(spec.models[0].path == std::string("${") + kVar + "}/tiny-llama");  // kept literal
  CHECK_THAT(spec.models[0].deferred, Contains(std::string("environment variable ") + kVar + " is not set"));
  auto cells = ptq::run::plan_cells(spec);
  REQUIRE(cells.size() == 3);
  for (const auto& c : cells) {
    const nlohmann::json j = c.to_json();
    CHECK(j["model"]["fingerprint"] == "deferred");
    CHECK(j["run_id_provisional"] == true);
    CHECK(j["model"]["path"] == std::string("${") + kVar + "}/tiny-llama");
  }
  // The plan file reads back as it was written.
  TempDir dir;
  ptq::run::write_plan(dir.file("plan.jsonl"), cells);
  auto read = ptq::run::read_plan(dir.file("plan.jsonl"));
  CHECK(read.at(2).run_id == cells.at(2).run_id);

  // Still unset where it runs: one clear line naming the cell and the variable; nothing is run.
  CHECK_THROWS_WITH(ptq::run::resolve_deferred_models(read, {1}, "plan.jsonl"),
                    Contains("plan.jsonl: cell 1 (rtn W4A16 tiny): model path: ") &&
                        Contains(std::string("environment variable ") + kVar + " is not set"));
  ptq::run::CellRunOptions options;
  options.results_dir = dir.file("results");
  CHECK_THROWS_AS(ptq::run::run_cell(read.at(1), options), ptq::InputError);
  CHECK_FALSE(fs::exists(dir.file("results")));

  // Where the model is: the ids a plan made beside the model has.
  ::setenv(kVar, (ptq::test::source_dir() + "/experiments/models").c_str(), 1);
  const auto beside = plan(doc);
  ptq::run::resolve_deferred_models(read, all_indices(read), "plan.jsonl");
  for (size_t i = 0; i < read.size(); ++i) {
    INFO(i);
    CHECK_FALSE(read[i].run_id_provisional());
    CHECK(read[i].run_id == beside[i].run_id);
    CHECK(read[i].model.fingerprint == beside[i].model.fingerprint);
    CHECK(read[i].model.path == ptq::test::source_dir() + "/experiments/models/tiny-llama");
    CHECK_FALSE(read[i].to_json().contains("run_id_provisional"));
  }
  ::unsetenv(kVar);
}

TEST_CASE("a missing model directory is deferred at plan time and an input error where the cell runs", "[unit][spec]") {
  TempDir dir;
  ::setenv(kVar, dir.file("no-models-here").c_str(), 1);
  auto cells = plan(spec_with_model(std::string("${") + kVar + "}/tiny-llama"));
  CHECK(cells.at(0).run_id_provisional());
  CHECK(cells.at(0).model.path == dir.file("no-models-here/tiny-llama"));
  CHECK_THROWS_WITH(ptq::run::resolve_deferred_models(cells, {0}, "p.jsonl"),
                    Contains("p.jsonl: cell 0 (fp W16A16 tiny): model directory not found: " + dir.file("no-models-here/tiny-llama")));
  // A present directory is still checked completely at plan time.
  fs::create_directories(dir.file("no-models-here/tiny-llama"));
  CHECK_THROWS_WITH(plan(spec_with_model(std::string("${") + kVar + "}/tiny-llama")), Contains("models[0].path") && Contains("has no config.json"));
  ::unsetenv(kVar);
  // Other paths keep the rule: an unset variable is an error at plan time (their hashes are in the run ids).
  nlohmann::json doc = spec_with_model(ptq::test::source_dir() + "/experiments/models/tiny-llama");
  doc["calibration"]["data"] = std::string("${") + kVar + "}/wikitext2";
  CHECK_THROWS_WITH(plan(doc), Contains("calibration.data: ") && Contains(std::string("environment variable ") + kVar + " is not set"));
}

TEST_CASE("plan lines hold each method's full config, defaults filled in", "[unit][spec]") {
  nlohmann::json doc = spec_with_model(ptq::test::source_dir() + "/experiments/models/tiny-llama");
  doc["methods"][1]["config"] = {{"alpha", 0.75}};
  const auto cells = plan(doc);
  const nlohmann::json defaults = ptq::methods::registry().get("omniquant").default_config();
  const nlohmann::json line = cells.at(2).to_json();
  REQUIRE(line["method"] == "omniquant");
  for (const auto& [key, value] : defaults.items()) {
    INFO(key);
    REQUIRE(line["config"].contains(key));
    if (key != "alpha") CHECK(line["config"][key] == value);
  }
  CHECK(line["config"]["alpha"] == 0.75);
  CHECK(line["config"]["epochs"] == -1);  // "auto": the method's schedule for the setting (20; 40 at 2 bits)
}

TEST_CASE("a model's fingerprint covers its tokenizer files, Llama-3's original/tokenizer.model included",
          "[unit][plan]") {
  ptq::test::TempDir dir;
  ptq::test::write_text(dir.file("config.json"), "{}");
  const auto base = ptq::run::model_fingerprint(dir.path());
  CHECK(base["files"] == 1);
  std::filesystem::create_directories(dir.file("original"));
  ptq::test::write_text(dir.file("original/tokenizer.model"), "IQ== 0\n");
  const auto with_original = ptq::run::model_fingerprint(dir.path());
  CHECK(with_original["files"] == 2);
  CHECK(with_original["sha256"] != base["sha256"]);
  ptq::test::write_text(dir.file("tokenizer.json"), "{}");
  ptq::test::write_text(dir.file("tokenizer_config.json"), "{}");
  CHECK(ptq::run::model_fingerprint(dir.path())["files"] == 4);
  // The same bytes under the top-level name are another fingerprint: the path inside the directory counts.
  ptq::test::TempDir other;
  ptq::test::write_text(other.file("config.json"), "{}");
  ptq::test::write_text(other.file("tokenizer.model"), "IQ== 0\n");
  CHECK(ptq::run::model_fingerprint(other.path())["sha256"] != with_original["sha256"]);
}
