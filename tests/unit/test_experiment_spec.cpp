// Experiment files: strict validation naming the key path, before any cell runs; plans and run ids.
#include "harness/io/json_file.h"
#include "harness/run/experiment_spec.h"
#include "harness/run/matrix_runner.h"
#include "harness/run/paper_protocol.h"
#include "harness/run/plan.h"
#include "harness/util/errors.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

using Catch::Matchers::Contains;
using ptq::test::tiny_model;
using ptq::test::tiny_data;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {


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

// Plan cells as their JSON lines, for the checks that read them the way scripts do.
static std::vector<nlohmann::json> as_json(const std::vector<ptq::run::Cell>& cells) {
  std::vector<nlohmann::json> out;
  for (const auto& c : cells) out.push_back(c.to_json());
  return out;
}

TEST_CASE("a valid experiment file resolves methods, settings, evaluators and the average", "[unit][spec]") {
  const auto s = parse(valid_spec());
  CHECK(s.name == "t");
  REQUIRE(s.methods.size() == 2);
  CHECK(s.methods[0].config == nlohmann::json{{"range", "minmax"}});  // defaults filled in
  CHECK(s.methods[0].settings == std::vector<std::string>{"W4A16", "W4A4"});
  CHECK(s.methods[1].settings == std::vector<std::string>{"W3A16"});
  CHECK(s.methods[1].paper_method == "RTN");
  CHECK(s.methods[1].models.empty());  // every model
  REQUIRE(s.evaluators.size() == 3);
  CHECK(s.evaluators[0].data == tiny_data() + "/wikitext2");  // <data_dir>/<task>/ when it exists
  CHECK(s.evaluators[0].seqlen == 256);
  CHECK(s.evaluators[1].is_zeroshot);
  CHECK(s.zeroshot_average == std::vector<std::string>{"piqa"});  // LAMBADA is reported on its own
  // No lm_eval_mode: v0.3 (the papers') for piqa, v0.4 for LAMBADA (evaluators/zeroshot/loglikelihood.h).
  CHECK(s.evaluators[1].lm_eval_mode == "v0.3");
  CHECK(s.evaluators[2].lm_eval_mode == "v0.4");
  auto forced = valid_spec();
  forced["evaluators"]["lm_eval_mode"] = "v0.3";
  CHECK(parse(forced).evaluators[2].lm_eval_mode == "v0.3");  // as asked
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

  j = valid_spec();  // a model that is not here: deferred by `plan`, refused by `run SPEC`
  j["models"][0]["path"] = "/no/such/model";
  CHECK_THROWS_WITH(ptq::run::require_models_present(parse(j)), "spec.json: models[0].path: model directory not found: /no/such/model");

  j = valid_spec();
  j["evaluators"]["tasks"][0] = {{"task", "wikitext2"}, {"data", "/no/such/dir"}};
  expect_error(j, "evaluators.tasks[0]: ");

  j = valid_spec();
  j["methods"][1]["label"] = "rtn";
  expect_error(j, "label \"rtn\" appears twice");

  j = valid_spec();
  j["methods"][1]["models"] = {"tiny", "llama-7b"};
  expect_error(j, "spec.json: methods[1].models[1]: unknown model id \"llama-7b\"");

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
  CHECK(cells[0].method == "fp");
  CHECK(cells[0].setting == "W16A16");
  CHECK(cells[3].label == "rtn-gptq");
  CHECK(cells[3].setting == "W3A16");
  for (size_t i = 0; i < cells.size(); ++i) {
    CHECK(cells[i].index == static_cast<int64_t>(i));
    CHECK(cells[i].run_id.size() == 16);
    CHECK_FALSE(cells[i].calibration);  // RTN needs none: one cell, no seed
    // The typed cell and its JSON line are the same thing: scripts read "method", "config", ...
    const nlohmann::json j = cells[i].to_json();
    CHECK(j.at("method") == cells[i].method);
    CHECK(j.at("config") == cells[i].config);
    CHECK(ptq::run::Cell::from_json(j).to_json() == j);
  }
  // Planning again gives the same ids; a config change gives a new one; paths and threads do not count.
  CHECK(ptq::run::plan_cells(s)[2].run_id == cells[2].run_id);
  auto moved = cells[2];
  moved.model.path = "/elsewhere";
  moved.evaluators[0].data = "/elsewhere/data";
  moved.runtime.threads = 64;
  CHECK(ptq::run::run_id_of(moved) == cells[2].run_id);
  auto changed = cells[2];
  changed.config["range"] = "gptq_nearest";
  CHECK(ptq::run::run_id_of(changed) != cells[2].run_id);
  auto other_data = cells[2];
  other_data.evaluators[0].files[0]["sha256"] = "00";
  CHECK(ptq::run::run_id_of(other_data) != cells[2].run_id);

  TempDir dir;
  ptq::run::write_plan(dir.file("plan.jsonl"), cells);
  CHECK(as_json(ptq::run::read_plan(dir.file("plan.jsonl"))) == as_json(cells));
  // A hand-edited cell no longer matches its id.
  std::string text = ptq::test::read_text(dir.file("plan.jsonl"));
  text.replace(text.find("W4A4"), 4, "W2A4");
  ptq::test::write_text(dir.file("plan.jsonl"), text);
  CHECK_THROWS_WITH(ptq::run::read_plan(dir.file("plan.jsonl")), Contains("plan.jsonl:3: run_id"));
}

TEST_CASE("a plan line written before streaming, activation placement and numerics reads with their defaults",
          "[unit][plan]") {
  auto j = ptq::run::plan_cells(parse(valid_spec()))[1].to_json();
  const std::string id = j.at("run_id");
  for (const char* k : {"stream", "activations", "numerics"}) j["runtime"].erase(k);
  const ptq::run::Cell c = ptq::run::Cell::from_json(j);
  CHECK(c.runtime.stream == "auto");
  CHECK(c.runtime.activations == "auto");
  CHECK(c.runtime.numerics == "native");
  CHECK(ptq::run::run_id_of(c) == id);  // the spec's numerics is native: the same cell
  j.erase("setting");
  CHECK_THROWS_AS(ptq::run::Cell::from_json(j), nlohmann::json::exception);
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

TEST_CASE("${VAR} in paths comes from the environment, unset is an error naming the key (a model's: deferred)", "[unit][spec]") {
  ::setenv("PTQ_TEST_MODELS_DIR", (ptq::test::source_dir() + "/experiments/models").c_str(), 1);
  auto j = valid_spec();
  j["models"][0]["path"] = "${PTQ_TEST_MODELS_DIR}/tiny-llama";
  CHECK(parse(j).models[0].path == tiny_model());
  CHECK(parse(j).models[0].deferred.empty());
  j["evaluators"]["data_dir"] = "${PTQ_TEST_UNSET_VARIABLE}/data";
  ::unsetenv("PTQ_TEST_UNSET_VARIABLE");
  expect_error(j, "evaluators.data_dir: \"${PTQ_TEST_UNSET_VARIABLE}/data\": environment variable PTQ_TEST_UNSET_VARIABLE is not set");
  // A model's path may name an unset variable: planning goes on where the models are not (test_plan_deferred.cpp);
  // `run SPEC`, which runs the cells here, refuses it with the error it was.
  j = valid_spec();
  j["models"][0]["path"] = "${PTQ_TEST_UNSET_VARIABLE}/tiny-llama";
  const auto s = parse(j);
  CHECK(s.models[0].deferred == "\"${PTQ_TEST_UNSET_VARIABLE}/tiny-llama\": environment variable PTQ_TEST_UNSET_VARIABLE is not set");
  CHECK_THROWS_WITH(ptq::run::require_models_present(s),
                    "spec.json: models[0].path: \"${PTQ_TEST_UNSET_VARIABLE}/tiny-llama\": environment variable "
                    "PTQ_TEST_UNSET_VARIABLE is not set");
}

// The paper matrices shipped in experiments/ must stay valid: validate and plan them against a fake tree
// of checkpoints (config.json with the real shapes) and data files, and check that every cell finds the
// paper's numbers to compare with.
// A fake tree of the paper models' checkpoints (config.json with the real shapes) and data files under
// `dir`, with PTQ_MODELS and PTQ_DATA pointing at it.
void fake_paper_tree(TempDir& dir) {
  struct Shape { const char* name; int hidden, inter, layers, heads, kv, pos; };
  const Shape shapes[] = {{"llama-7b", 4096, 11008, 32, 32, 32, 2048},       {"llama-13b", 5120, 13824, 40, 40, 40, 2048},
                          {"llama-30b", 6656, 17920, 60, 52, 52, 2048},      {"llama-65b", 8192, 22016, 80, 64, 64, 2048},
                          {"Llama-2-7b-hf", 4096, 11008, 32, 32, 32, 4096},  {"Llama-2-13b-hf", 5120, 13824, 40, 40, 40, 4096},
                          {"Llama-2-70b-hf", 8192, 28672, 80, 64, 8, 4096}};
  for (const auto& s : shapes) {
    fs::create_directories(dir.file(std::string("models/") + s.name));
    const nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", s.hidden},
                                   {"intermediate_size", s.inter}, {"num_hidden_layers", s.layers},
                                   {"num_attention_heads", s.heads}, {"num_key_value_heads", s.kv}, {"vocab_size", 32000},
                                   {"max_position_embeddings", s.pos}, {"rms_norm_eps", 1e-5}};
    ptq::test::write_text(dir.file(std::string("models/") + s.name + "/config.json"), config.dump());
    ptq::test::write_text(dir.file(std::string("models/") + s.name + "/tokenizer.model"), "placeholder");
  }
  fs::create_directories(dir.file("data/wikitext2"));
  fs::create_directories(dir.file("data/c4"));
  for (const char* d : {"piqa", "arc", "boolq", "hellaswag", "winogrande"}) fs::create_directories(dir.file(std::string("data/") + d));
  for (const char* f : {"wikitext2/wiki.test.raw", "wikitext2/wiki.train.raw", "c4/c4-validation.00000-of-00008.json.gz",
                        "piqa/valid.jsonl", "piqa/valid-labels.lst", "arc/ARC-Easy-Test.jsonl", "arc/ARC-Challenge-Test.jsonl",
                        "boolq/dev.jsonl", "hellaswag/hellaswag_val.jsonl", "winogrande/dev.jsonl"})
    ptq::test::write_text(dir.file(std::string("data/") + f), "");
  ::setenv("PTQ_MODELS", dir.file("models").c_str(), 1);
  ::setenv("PTQ_DATA", dir.file("data").c_str(), 1);
}

// The paper's numbers, keyed as the report looks them up: model|setting|method|metric.
std::set<std::string> reported_numbers(const std::string& papers_file = "omniquant.json") {
  std::set<std::string> reported;
  for (const auto& r : ptq::io::read_json_file(ptq::test::source_dir() + "/experiments/papers/" + papers_file))
    // A row the paper prints as NAN (GPTQ diverged) is a reported row too: its value is null with that note.
    if (!r["model"].is_null() &&
        (!r["value"].is_null() || r.value("note", std::string()).find("reported as NAN") != std::string::npos))
      reported.insert(fmt::format("{}|{}{}|{}|{}", r["model"].get<std::string>(), r["setting"].get<std::string>(),
                                  r["group_size"].is_null() ? "" : fmt::format("g{}", r["group_size"].get<int>()),
                                  r["method"].get<std::string>(), r["metric"].get<std::string>()));
  return reported;
}

std::string paper_key(const nlohmann::json& cell, const std::string& metric) {
  return fmt::format("{}|{}|{}|{}", cell["model"]["paper_model"].get<std::string>(), cell["setting"].get<std::string>(),
                     cell["paper_method"].get<std::string>(), metric);
}

TEST_CASE("experiments/omniquant_table1.json validates, plans, and meets the paper's rows", "[unit][spec]") {
  TempDir dir;
  fake_paper_tree(dir);
  const auto spec = ptq::run::load_experiment_spec(ptq::test::source_dir() + "/experiments/omniquant_table1.json");
  const auto cells = as_json(ptq::run::plan_cells(spec));
  CHECK(cells.size() == 7 * (1 + 7 + 7 + 7) + 6 * 6);  // FP, RTN, GPTQ, OmniQuant; AWQ where the paper reports it
  const auto reported = reported_numbers();
  std::map<std::string, int> rows;
  for (const auto& c : cells) {
    ++rows[c["paper_method"].get<std::string>()];
    for (const char* metric : {"wikitext2_ppl", "c4_ppl"}) {
      INFO(paper_key(c, metric));
      // The one gap: Table A19 (C4) as available has no AWQ W2A16g64 row (papers/omniquant.json).
      if (c["paper_method"] == "AWQ" && c["setting"] == "W2A16g64" && std::string(metric) == "c4_ppl") continue;
      CHECK(reported.count(paper_key(c, metric)) == 1);
    }
  }
  CHECK(rows == std::map<std::string, int>{{"FP16", 7}, {"RTN", 49}, {"GPTQ", 49}, {"AWQ", 36}, {"OmniQuant", 49}});
}

TEST_CASE("experiments/llama3_qwen2_5.json plans Llama-3-8B and Qwen2.5-7B beside SliderQuant's reported rows",
          "[unit][spec]") {
  TempDir dir;
  fake_paper_tree(dir);
  const auto spec = ptq::run::load_experiment_spec(ptq::test::source_dir() + "/experiments/llama3_qwen2_5.json");
  const auto cells = as_json(ptq::run::plan_cells(spec));
  CHECK(cells.size() == 2 * (1 + 3 * 3));
  const auto reported = reported_numbers("sliderquant.json");
  for (const auto& c : cells)
    for (const char* metric : {"wikitext2_ppl", "c4_ppl"}) {
      INFO(paper_key(c, metric));
      CHECK(reported.count(paper_key(c, metric)) == 1);
    }
}

TEST_CASE("experiments/omniquant_table2.json: per-model script settings through config_overrides", "[unit][spec]") {
  TempDir dir;
  fake_paper_tree(dir);
  const auto spec = ptq::run::load_experiment_spec(ptq::test::source_dir() + "/experiments/omniquant_table2.json");
  const auto cells = as_json(ptq::run::plan_cells(spec));
  CHECK(cells.size() == 6 * (1 + 2 + 2));
  const auto reported = reported_numbers();
  int omniquant_cells = 0;
  for (const auto& c : cells) {
    if (c["method"] != "omniquant") continue;
    ++omniquant_cells;
    const std::string model = c["model"]["id"], setting = c["setting"];
    const auto& config = c["config"];
    INFO(model << " " << setting << " " << config.dump());
    const bool llama1 = model.rfind("llama-2", 0) != 0;
    CHECK(config["aug_loss"] == (llama1 && setting == "W4A4" ? "on" : "auto"));
    CHECK(config["alpha"].get<double>() == ((setting == "W4A4" && (model == "llama-30b" || !llama1)) ? 0.75 : 0.5));
    CHECK(config["let_lr"].get<double>() == (setting == "W4A4" && !llama1 ? 1e-3 : 0.0));
    CHECK(reported.count(paper_key(c, "wikitext2_ppl")) == 1);
    if (llama1) CHECK(reported.count(paper_key(c, "zeroshot_avg")) == 1);
  }
  CHECK(omniquant_cells == 12);
}

TEST_CASE("experiments/cbq_ablation.json validates and plans every ablation row", "[unit][spec]") {
  TempDir dir;
  fake_paper_tree(dir);
  ptq::test::write_text(dir.file("data/c4/c4-train.00000-of-01024.json.gz"), "");
  const auto spec = ptq::run::load_experiment_spec(ptq::test::source_dir() + "/experiments/cbq_ablation.json");
  const auto cells = as_json(ptq::run::plan_cells(spec));
  CHECK(cells.size() == 2 * (1 + 2 + 2 * 8 + 6));  // fp, rtn + cbq, 8 rows at both settings, 6 at one
  std::set<std::string> labels;
  for (const auto& c : cells) labels.insert(c["label"].get<std::string>());
  CHECK(labels.count("cbq-window-1") == 1);
  CHECK(labels.count("cbq-full-adaround") == 1);
  CHECK(labels.count("cbq-no-act-steps") == 1);
  CHECK(labels.count("cbq-soft-rounding") == 1);
  for (const auto& c : cells) {  // the ablations are not CBQ as the paper ran it: no paper numbers
    INFO(c["label"]);
    CHECK(c.value("paper_row", true) == (c["label"] == "fp" || c["label"] == "rtn" || c["label"] == "cbq"));
  }
}

TEST_CASE("experiments/mppq_ablation.json validates and plans every ablation row", "[unit][spec]") {
  TempDir dir;
  fake_paper_tree(dir);
  const auto spec = ptq::run::load_experiment_spec(ptq::test::source_dir() + "/experiments/mppq_ablation.json");
  const auto cells = as_json(ptq::run::plan_cells(spec));
  CHECK(cells.size() == 1 + 2 * 8);  // FP, then 8 method rows at W4A4 and W2A16
  std::set<std::string> labels;
  for (const auto& c : cells) labels.insert(c["label"].get<std::string>());
  for (const char* l : {"mppq", "mppq-no-kl", "mppq-no-proxy", "mppq-no-presearch", "mppq-no-param-regularization", "lrquant"}) CHECK(labels.count(l) == 1);
  for (const auto& c : cells) {
    INFO(c["label"]);
    CHECK(c.value("paper_row", true) == (c["label"].get<std::string>().rfind("mppq-", 0) != 0));
  }
}

// Before issue #25 the plain OmniQuant row ran with main.py's let_lr and alpha while the report compared it
// with Table A23's 14.26, which the released Llama-2 W4A4 script reached with let_lr 1e-3 and alpha 0.75.
TEST_CASE("experiments/mppq_ablation.json and omniquant_table2.json follow the protocols of the numbers they are compared with",
          "[unit][spec]") {
  TempDir dir;
  fake_paper_tree(dir);
  for (const char* file : {"mppq_ablation.json", "omniquant_table2.json"}) {
    INFO(file);
    const auto spec = ptq::run::load_experiment_spec(ptq::test::source_dir() + "/experiments/" + file);
    CHECK(ptq::run::protocol_warnings(spec, ptq::run::plan_cells(spec)).empty());
  }
  const std::string path = ptq::test::source_dir() + "/experiments/mppq_ablation.json";
  nlohmann::json doc = ptq::io::read_json_file(path);
  REQUIRE(doc["methods"][1]["name"] == "omniquant");
  doc["methods"][1] = "omniquant";  // the row as it was
  const auto old = ptq::run::parse_experiment_spec(doc, path, ptq::test::source_dir() + "/experiments");
  const auto warnings = ptq::run::protocol_warnings(old, ptq::run::plan_cells(old));
  REQUIRE(warnings.size() == 2);
  CHECK_THAT(warnings[0], Contains("mppq_ablation.json: row \"omniquant\" (llama-2-7b W4A4): config.alpha is 0.5 here but "
                                   "0.75 in the protocol of omniquant.json Table A23"));
  CHECK_THAT(warnings[1], Contains("config.let_lr is 0.0 here but 0.001"));
}

TEST_CASE("an ablation's cells are compared with paper numbers only when its entry names a paper_method", "[unit][spec]") {
  auto j = valid_spec();
  j["methods"].push_back({{"name", "rtn"}, {"label", "rtn-as-published"}, {"paper_method", "RTN"}, {"settings", {"W2A16"}}});
  const auto cells = ptq::run::plan_cells(parse(j));
  std::map<std::string, bool> paper_row;
  for (const auto& c : cells) paper_row[c.label] = c.to_json().value("paper_row", true);
  CHECK(paper_row == std::map<std::string, bool>{{"fp", true}, {"rtn", true}, {"rtn-gptq", false}, {"rtn-as-published", true}});
  // A plan line from before "paper_row" existed: only the method's own row is the paper's.
  REQUIRE(cells[3].label == "rtn-gptq");
  nlohmann::json old = cells[3].to_json();
  old.erase("paper_row");
  CHECK_FALSE(ptq::run::Cell::from_json(old).paper_row);
  old["label"] = "rtn";
  CHECK(ptq::run::Cell::from_json(old).paper_row);
}

TEST_CASE("config_overrides are checked: unknown model ids and bad configs name the key path", "[unit][spec]") {
  nlohmann::json doc = valid_spec();
  doc["methods"] = {{{"name", "rtn"}, {"config_overrides", {{{"models", {"nope"}}, {"config", {{"range", "minmax"}}}}}}}};
  CHECK_THROWS_WITH(parse(doc), Contains("methods[0].config_overrides[0].models") && Contains("unknown model id \"nope\""));
  doc["methods"] = {{{"name", "rtn"}, {"config_overrides", {{{"settings", {"W4A16"}}, {"config", {{"rnage", 1}}}}}}}};
  CHECK_THROWS_WITH(parse(doc), Contains("methods[0].config_overrides") && Contains("W4A16") && Contains("rnage"));
  // A valid override reaches exactly the cells it names.
  doc["methods"] = {{{"name", "rtn"}, {"config_overrides", {{{"settings", {"W4A4"}}, {"config", {{"range", "gptq_nearest"}}}}}}}};
  const auto spec = parse(doc);
  CHECK(spec.methods[0].config_for("tiny", "W4A4")["range"] == "gptq_nearest");
  CHECK(spec.methods[0].config_for("tiny", "W4A16")["range"] == "minmax");
}
