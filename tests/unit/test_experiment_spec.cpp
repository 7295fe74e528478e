// Experiment files: strict validation naming the key path, before any cell runs; plans and run ids.
#include "run/experiment_spec.h"
#include "run/matrix_runner.h"
#include "run/plan.h"
#include "support/random_model.h"
#include "support/test_env.h"
#include "util/errors.h"

#include <catch2/catch.hpp>

#include <filesystem>

using Catch::Matchers::Contains;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

std::string tiny_model() { return ptq::test::source_dir() + "/experiments/models/tiny-llama"; }
std::string tiny_data() { return ptq::test::source_dir() + "/experiments/data/tiny"; }

nlohmann::json valid_spec() {
  return {{"name", "t"},
          {"models", {{{"id", "tiny"}, {"path", tiny_model()}}}},
          {"settings", {"W4A16", "W4A4"}},
          {"methods", {{{"name", "rtn"}}, {{"name", "rtn"}, {"label", "rtn-gptq"}, {"config", {{"range", "gptq_nearest"}}},
                                           {"settings", {"W3A16"}}}}},
          {"evaluators", {{"data_dir", tiny_data()}, {"seqlen", 256}, {"tasks", {"wikitext2", "piqa", "lambada_openai"}}}}};
}

ptq::run::ExperimentSpec parse(const nlohmann::json& j, const std::string& base = "/") {
  return ptq::run::parse_experiment_spec(j, "spec.json", base);
}

void expect_error(const nlohmann::json& j, const std::string& fragment) {
  INFO(j.dump());
  CHECK_THROWS_AS(parse(j), ptq::InputError);
  CHECK_THROWS_WITH(parse(j), Contains(fragment));
}

}  // namespace

TEST_CASE("a valid experiment file resolves methods, settings, evaluators and the average", "[unit][spec]") {
  const auto s = parse(valid_spec());
  CHECK(s.name == "t");
  REQUIRE(s.methods.size() == 2);
  CHECK(s.methods[0].config == nlohmann::json{{"range", "minmax"}});  // defaults filled in
  CHECK(s.methods[0].settings == std::vector<std::string>{"W4A16", "W4A4"});
  CHECK(s.methods[1].settings == std::vector<std::string>{"W3A16"});
  CHECK(s.methods[1].paper_method == "RTN");
  REQUIRE(s.evaluators.size() == 3);
  CHECK(s.evaluators[0].data == tiny_data() + "/wikitext2");  // <data_dir>/<task>/ when it exists
  CHECK(s.evaluators[0].seqlen == 256);
  CHECK(s.evaluators[1].is_zeroshot);
  CHECK(s.zeroshot_average == std::vector<std::string>{"piqa"});  // LAMBADA is reported on its own
}

TEST_CASE("malformed experiment files fail naming the key path", "[unit][spec]") {
  auto j = valid_spec();
  j["modles"] = j["models"];
  expect_error(j, "unknown key \"modles\", did you mean \"models\"?");

  j = valid_spec();
  j["methods"][0]["name"] = "omniquantt";
  expect_error(j, "spec.json: methods[0].name: ");

  j = valid_spec();
  j["methods"][1]["config"] = {{"rnage", "minmax"}};
  expect_error(j, "methods[1].config: ");

  j = valid_spec();
  j["settings"] = {"W4A16", "W4Q4"};
  expect_error(j, "spec.json: settings[1]: ");

  j = valid_spec();
  j["evaluators"]["tasks"][1] = "piqaa";
  expect_error(j, "evaluators.tasks[1]: unknown evaluator \"piqaa\", did you mean \"piqa\"?");

  j = valid_spec();
  j["models"][0]["path"] = "/no/such/model";
  expect_error(j, "models[0].path: model directory not found: /no/such/model");

  j = valid_spec();
  j["evaluators"]["tasks"][0] = {{"task", "wikitext2"}, {"data", "/no/such/dir"}};
  expect_error(j, "evaluators.tasks[0]: ");

  j = valid_spec();
  j["methods"][1]["label"] = "rtn";
  expect_error(j, "label \"rtn\" appears twice");

  j = valid_spec();
  j["settings"] = {"W4A16g100"};  // 192 is not a multiple of 100
  expect_error(j, "setting W4A16g100 does not fit model tiny");

  j = valid_spec();
  j["runtime"] = {{"dtype", "fp8"}};
  expect_error(j, "runtime");

  j = valid_spec();
  j.erase("name");
  expect_error(j, "missing required key \"name\"");

  j = valid_spec();
  j["calibration"] = {{"seeds", {1, 1}}};
  expect_error(j, "calibration.seeds: lists a seed twice");
}

TEST_CASE("relative paths are relative to the experiment file", "[unit][spec]") {
  TempDir dir;
  auto j = valid_spec();
  j["models"][0]["path"] = fs::relative(tiny_model(), dir.path()).string();
  const auto s = parse(j, dir.path());
  CHECK(fs::equivalent(s.models[0].path, tiny_model()));
}

TEST_CASE("plans: one FP cell per model, methods x settings, stable run ids", "[unit][plan]") {
  const auto s = parse(valid_spec());
  const auto cells = ptq::run::plan_cells(s);
  REQUIRE(cells.size() == 1 + 2 + 1);
  CHECK(cells[0]["method"] == "fp");
  CHECK(cells[0]["setting"] == "W16A16");
  CHECK(cells[3]["label"] == "rtn-gptq");
  CHECK(cells[3]["setting"] == "W3A16");
  for (size_t i = 0; i < cells.size(); ++i) {
    CHECK(cells[i]["index"] == i);
    CHECK(cells[i]["run_id"].get<std::string>().size() == 16);
    CHECK(cells[i]["calibration"].is_null());  // RTN needs none: one cell, no seed
  }
  // Planning again gives the same ids; a config change gives a new one; paths and threads do not count.
  CHECK(ptq::run::plan_cells(s)[2]["run_id"] == cells[2]["run_id"]);
  auto moved = cells[2];
  moved["model"]["path"] = "/elsewhere";
  moved["evaluators"][0]["data"] = "/elsewhere/data";
  moved["runtime"]["threads"] = 64;
  CHECK(ptq::run::run_id_of(moved) == cells[2]["run_id"]);
  auto changed = cells[2];
  changed["config"]["range"] = "gptq_nearest";
  CHECK(ptq::run::run_id_of(changed) != cells[2]["run_id"]);
  auto other_data = cells[2];
  other_data["evaluators"][0]["files"][0]["sha256"] = "00";
  CHECK(ptq::run::run_id_of(other_data) != cells[2]["run_id"]);

  TempDir dir;
  ptq::run::write_plan(dir.file("plan.jsonl"), cells);
  CHECK(ptq::run::read_plan(dir.file("plan.jsonl")) == cells);
  // A hand-edited cell no longer matches its id.
  std::string text = ptq::test::read_text(dir.file("plan.jsonl"));
  text.replace(text.find("W4A4"), 4, "W2A4");
  ptq::test::write_text(dir.file("plan.jsonl"), text);
  CHECK_THROWS_WITH(ptq::run::read_plan(dir.file("plan.jsonl")), Contains("plan.jsonl:3: run_id"));
}

TEST_CASE("index lists for --index", "[unit][plan]") {
  using ptq::run::parse_index_list;
  CHECK(parse_index_list("3", 5) == std::vector<int64_t>{3});
  CHECK(parse_index_list("0,2-4", 5) == std::vector<int64_t>{0, 2, 3, 4});
  CHECK(parse_index_list("all", 3) == std::vector<int64_t>{0, 1, 2});
  CHECK(parse_index_list("1,1", 3) == std::vector<int64_t>{1});
  CHECK_THROWS_WITH(parse_index_list("5", 5), Contains("out of range"));
  CHECK_THROWS_WITH(parse_index_list("a", 5), Contains("not a number"));
  CHECK_THROWS_WITH(parse_index_list("3-1", 5), Contains("out of range"));
  CHECK_THROWS_AS(parse_index_list("", 5), ptq::InputError);
}
