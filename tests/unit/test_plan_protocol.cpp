// The paper-protocol check (run/paper_protocol.h): a row compared with a paper number whose record
// states the paper's protocol gets one warning per key it does not follow; a row that follows it, an
// ablation row, or a row compared with another file's number gets none.
#include "harness/run/experiment_spec.h"
#include "harness/run/paper_protocol.h"
#include "harness/run/plan.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

using Catch::Matchers::Contains;
using ptq::test::TempDir;

namespace {

nlohmann::json record(const nlohmann::json& protocol) {
  nlohmann::json r = {{"paper", "Test paper"}, {"table", "Table 9"}, {"model", "Tiny"},  {"setting", "W4A4"},
                      {"group_size", nullptr},  {"method", "OmniQuant"}, {"metric", "wikitext2_ppl"}, {"value", 20.0},
                      {"verified", true}};
  if (!protocol.is_null()) r["protocol"] = protocol;
  return r;
}

// OmniQuant (compared with papers) and an ablation of it (not compared), at W4A4 on the tiny model.
nlohmann::json spec(const TempDir& dir, int64_t calibration_n, const std::vector<std::string>& papers) {
  const std::string src = ptq::test::source_dir();
  nlohmann::json paths = nlohmann::json::array();
  for (const auto& p : papers) paths.push_back(dir.file(p));
  return {{"name", "protocol"},
          {"models", {{{"id", "tiny"}, {"path", src + "/experiments/models/tiny-llama"}, {"paper_model", "Tiny"}}}},
          {"settings", {"W4A4"}},
          {"fp_baseline", false},
          {"methods", {"omniquant", {{"name", "omniquant"}, {"label", "omniquant-no-lwc"}, {"config", {{"lwc", false}}}}}},
          {"calibration", {{"data", src + "/experiments/data/tiny/wikitext2"}, {"n", calibration_n}, {"seqlen", 256}}},
          {"evaluators", {{"data_dir", src + "/experiments/data/tiny"}, {"seqlen", 256}, {"tasks", {"wikitext2"}}}},
          {"papers", paths}};
}

std::vector<std::string> warnings(const nlohmann::json& doc) {
  const auto s = ptq::run::parse_experiment_spec(doc, "spec.json", "/");
  return ptq::run::protocol_warnings(s, ptq::run::plan_cells(s));
}

}  // namespace

TEST_CASE("a compared row with another calibration n than its paper's protocol is warned about, once", "[unit][spec]") {
  TempDir dir;
  const nlohmann::json protocol = {{"calibration_n", 128}, {"calibration_seqlen", 256}, {"source", "test"}};
  ptq::test::write_text(dir.file("paper.json"), nlohmann::json::array({record(protocol)}).dump());
  const auto w = warnings(spec(dir, 16, {"paper.json"}));
  REQUIRE(w.size() == 1);  // the ablation row is not compared with the paper: no warning for it
  CHECK_THAT(w[0], Contains("spec.json: row \"omniquant\" (tiny W4A4): calibration.n is 16 here but 128 in the protocol of "
                            "paper.json Table 9"));
  CHECK(warnings(spec(dir, 128, {"paper.json"})).empty());

  // The report compares the row with the first file that has the number: that record's protocol counts.
  ptq::test::write_text(dir.file("first.json"), nlohmann::json::array({record(nullptr)}).dump());
  CHECK(warnings(spec(dir, 16, {"first.json", "paper.json"})).empty());
  CHECK(warnings(spec(dir, 16, {"paper.json", "first.json"})).size() == 1);
}

TEST_CASE("protocol config values and explicit epochs are compared with the cell's config", "[unit][spec]") {
  TempDir dir;
  const nlohmann::json protocol = {{"epochs", 20}, {"config", {{"alpha", 0.75}, {"let_lr", 0.001}}}};
  ptq::test::write_text(dir.file("paper.json"), nlohmann::json::array({record(protocol)}).dump());
  nlohmann::json doc = spec(dir, 16, {"paper.json"});
  auto w = warnings(doc);  // epochs -1 ("auto": the scripts' schedule) is not compared
  REQUIRE(w.size() == 2);
  CHECK_THAT(w[0], Contains("row \"omniquant\" (tiny W4A4): config.alpha is 0.5 here but 0.75"));
  CHECK_THAT(w[1], Contains("config.let_lr is 0.0 here but 0.001"));
  doc["methods"][0] = {{"name", "omniquant"}, {"config", {{"alpha", 0.75}, {"let_lr", 1e-3}, {"epochs", 10}}}};
  w = warnings(doc);
  REQUIRE(w.size() == 1);
  CHECK_THAT(w[0], Contains("config.epochs is 10 here but 20"));
}

TEST_CASE("a malformed protocol is an input error naming the file, the record and the key", "[unit][spec]") {
  TempDir dir;
  ptq::test::write_text(dir.file("paper.json"), nlohmann::json::array({record({{"calibraton_n", 128}})}).dump());
  CHECK_THROWS_WITH(warnings(spec(dir, 16, {"paper.json"})),
                    Contains("paper.json: [0].protocol") && Contains("unknown key \"calibraton_n\""));
}
