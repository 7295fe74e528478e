// `ptqbench export`: lm-evaluation-harness v0.4 results JSON per run, CSV and JSON lines tables, and the
// bad inputs. The results are hand-made (tests/support/result_fixtures.h, no model runs: each case takes
// about a second, mostly the CLI's start-up), and every expected number is written here from the
// fixture's: 73.20 % stored is 0.7320 in "acc,none".
#include "harness/store/results_db.h"
#include "tests/support/cli_runner.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

using Catch::Matchers::Contains;
using nlohmann::json;
using ptq::test::FakeRun;
using ptq::test::TempDir;
using ptq::test::read_text;
using ptq::test::run_ptqbench;
using ptq::test::write_text;
namespace fs = std::filesystem;

namespace {

// An OmniQuant W4A16 cell (seed 2) of experiment "exp" with zero-shot and perplexity metrics in percent
// and stderr 1.25 for every metric (write_fake_run gives every metric the same stderr and n = 100).
FakeRun omniquant_run() {
  FakeRun r;
  r.experiment = "exp", r.setting = "W4A16", r.method = "omniquant", r.paper_method = "OmniQuant", r.seed = 2;
  r.stderr_value = 1.25;
  r.metrics = {{"wikitext2_ppl", 5.4721},   {"piqa", 75.0},          {"piqa_acc", 73.20}, {"piqa_acc_norm", 75.0},
               {"boolq", 62.5},            {"boolq_acc", 62.5},     {"lambada_openai", 70.0},
               {"lambada_openai_acc", 70.0}, {"lambada_openai_ppl", 3.5}, {"zeroshot_avg", 68.75}};
  r.zeroshot_average = {"piqa", "boolq"};
  return r;
}

// What a real cell records beside its metrics and write_fake_run does not write: the evaluator specs
// (limit, lm_eval_mode) and the details with the data's full sizes.
void add_protocol(const std::string& results, const std::string& run_id) {
  const std::string path = results + "/runs/" + run_id + "/result.json";
  json r = json::parse(read_text(path));
  r["cell"]["evaluators"] = {
      {{"task", "wikitext2"}, {"limit", 100}, {"seqlen", 512}, {"batch_size", 8}, {"data", "data/wikitext2"}},
      {{"task", "piqa"}, {"limit", 100}, {"lm_eval_mode", "v0.3"}, {"batch_size", 8}, {"metric", ""}},
      {{"task", "boolq"}, {"limit", 0}, {"lm_eval_mode", "v0.4"}, {"batch_size", 8}, {"metric", ""}},
      {{"task", "lambada_openai"}, {"limit", 0}, {"lm_eval_mode", "v0.4"}, {"batch_size", 8}, {"metric", ""}}};
  r["details"] = {{"wikitext2", {{"nsamples", 100}, {"nsamples_total", 166}, {"protocol", "gptq_wikitext2"}}},
                  {"piqa", {{"n", 100}, {"n_total", 1838}, {"reported_metric", "acc_norm"}, {"lm_eval_mode", "v0.3"}}}};
  r["provenance"]["finished"] = "2026-01-01T00:10:00Z";
  r["provenance"]["environment"]["git_sha"] = "abc123";
  write_text(path, r.dump(2));
}

void ingest(const std::string& results) {
  ptq::store::ResultsDb db(results + "/ptqbench.db");
  db.ingest(results);
}

double num(const json& j) { return j.get<double>(); }

// RFC 4180, written here independently of the exporter: quoted fields may hold commas, doubled quotes
// and newlines.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field), field.clear();
    } else if (c == '\n') {
      rows.back().push_back(field), field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("export lm-eval: one v0.4 results file per run, accuracies as fractions", "[integration][export]") {
  TempDir dir;
  const std::string results = dir.file("results");
  const std::string id = ptq::test::write_fake_run(results, omniquant_run());
  add_protocol(results, id);
  ingest(results);

  const auto r = run_ptqbench({"export", "--format", "lm-eval", "--results", results, "-o", dir.file("out")});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("wrote 1 lm-eval results files (1 runs)"));
  // lm-eval's layout: <model_name_sanitized>/results_<date>.json, the date the run's finish time.
  REQUIRE(files_under(dir.file("out")) ==
          std::vector<std::string>{"exp__llama-2-7b__W4A16__omniquant__seed2/results_2026-01-01T00-10-00Z.json"});
  const json doc = json::parse(read_text(dir.file("out/exp__llama-2-7b__W4A16__omniquant__seed2/results_2026-01-01T00-10-00Z.json")));
  for (const char* key : {"results", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better", "n-samples",
                          "config", "model_name", "ptqbench"})
    CHECK(doc.contains(key));
  CHECK_FALSE(doc.contains("groups"));

  const json& piqa = doc["results"]["piqa"];
  CHECK(piqa["alias"] == "piqa");
  CHECK(num(piqa["acc,none"]) == Approx(0.7320).epsilon(1e-12));  // 73.20 %
  CHECK(num(piqa["acc_stderr,none"]) == Approx(0.0125).epsilon(1e-12));  // 1.25 points
  CHECK(num(piqa["acc_norm,none"]) == Approx(0.75).epsilon(1e-12));
  CHECK(num(piqa["acc_norm_stderr,none"]) == Approx(0.0125).epsilon(1e-12));
  CHECK(piqa.size() == 5);  // alias + 4 metric keys: make_table reads every other key as a metric
  CHECK(num(doc["results"]["boolq"]["acc,none"]) == Approx(0.625).epsilon(1e-12));
  CHECK_FALSE(doc["results"]["boolq"].contains("acc_norm,none"));  // boolq has no acc_norm
  CHECK(num(doc["results"]["lambada_openai"]["acc,none"]) == 0.7);  // 70 / 100 exactly, not 0.7000000000000001
  // Perplexities are not percentages: unscaled, LAMBADA's as lm-eval names it.
  CHECK(num(doc["results"]["lambada_openai"]["perplexity,none"]) == 3.5);
  CHECK(num(doc["results"]["lambada_openai"]["perplexity_stderr,none"]) == 1.25);
  // GPTQ's token-level WikiText-2 perplexity is not lm-eval's wikitext word_perplexity: its own name.
  CHECK(num(doc["results"]["wikitext2"]["token_perplexity,none"]) == 5.4721);
  CHECK_FALSE(doc["results"].contains("wikitext"));
  CHECK_FALSE(doc["results"]["wikitext2"].contains("word_perplexity,none"));
  CHECK_FALSE(doc["results"].contains("zeroshot_avg"));
  CHECK(num(doc["ptqbench"]["zeroshot_avg"]["value"]) == Approx(0.6875).epsilon(1e-12));

  // Versions follow the semantics each task was scored with: lm-eval v0.3's piqa is 0, v0.4's boolq 2.0.
  CHECK(doc["versions"]["piqa"] == 0);
  CHECK(doc["versions"]["boolq"] == 2.0);
  CHECK(doc["versions"]["wikitext2"] == "N/A");
  CHECK(doc["n-shot"]["piqa"] == 0);
  CHECK(doc["higher_is_better"]["piqa"] == json({{"acc", true}, {"acc_norm", true}}));
  CHECK(doc["higher_is_better"]["wikitext2"] == json({{"token_perplexity", false}}));
  CHECK(doc["higher_is_better"]["lambada_openai"] == json({{"acc", true}, {"perplexity", false}}));
  // n-samples: documents (segments for perplexity) scored, of how many; boolq has no recorded total and
  // no limit, so it scored all of its 100.
  CHECK(doc["n-samples"]["piqa"] == json({{"original", 1838}, {"effective", 100}}));
  CHECK(doc["n-samples"]["wikitext2"] == json({{"original", 166}, {"effective", 100}}));
  CHECK(doc["n-samples"]["boolq"] == json({{"original", 100}, {"effective", 100}}));
  CHECK(doc["group_subtasks"]["piqa"] == json::array());

  const json& cfg = doc["configs"]["piqa"];
  CHECK(cfg["task"] == "piqa");
  CHECK(cfg["dataset_path"] == "piqa");
  CHECK(cfg["output_type"] == "multiple_choice");
  CHECK(cfg["num_fewshot"] == 0);
  CHECK(cfg["metric_list"] == json::parse(R"([{"metric": "acc", "aggregation": "mean", "higher_is_better": true},
                                              {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": true}])"));
  CHECK(doc["configs"]["boolq"]["dataset_name"] == "boolq");
  CHECK(doc["configs"]["wikitext2"]["output_type"] == "loglikelihood_rolling");

  CHECK(doc["config"]["model"] == "ptqbench");
  CHECK_THAT(doc["config"]["model_args"].get<std::string>(), Contains("ptq_setting=W4A16") && Contains("calib_seed=2"));
  CHECK(doc["config"]["batch_size"] == 8);
  CHECK(doc["config"]["limit"].is_null());  // 100 for some tasks, none for others: n-samples says which
  CHECK(doc["git_hash"] == "abc123");
  CHECK(num(doc["date"]) == 1767225600.0);  // 2026-01-01T00:00:00Z
  CHECK(doc["model_name"] == "exp/llama-2-7b/W4A16/omniquant/seed2");
  CHECK(doc["ptqbench"]["run_id"] == id);
  CHECK(doc["ptqbench"]["tasks"]["piqa"]["limit"] == 100);
  CHECK(doc["ptqbench"]["tasks"]["wikitext2"]["protocol"] == "gptq_wikitext2");
}

TEST_CASE("export lm-eval: unknown stderr is N/A, a reported-only metric lands on its key", "[integration][export]") {
  TempDir dir;
  const std::string results = dir.file("results");
  FakeRun r;  // as results without the acc/acc_norm details: only the reported metric, stderr unknown
  r.experiment = "exp", r.setting = "W4A16", r.method = "rtn";
  r.stderr_value = NAN;
  r.metrics = {{"piqa", 77.0}, {"boolq", 61.0}};
  ptq::test::write_fake_run(results, r);
  ingest(results);
  REQUIRE(run_ptqbench({"export", "--results", results, "-o", dir.file("out")}).exit_code == 0);
  const json doc = json::parse(read_text(dir.file("out/" + files_under(dir.file("out")).at(0))));
  // PIQA's reported metric is acc_norm, BoolQ's acc (the papers' choices).
  CHECK(num(doc["results"]["piqa"]["acc_norm,none"]) == Approx(0.77).epsilon(1e-12));
  CHECK(doc["results"]["piqa"]["acc_norm_stderr,none"] == "N/A");
  CHECK_FALSE(doc["results"]["piqa"].contains("acc,none"));
  CHECK(num(doc["results"]["boolq"]["acc,none"]) == Approx(0.61).epsilon(1e-12));
  CHECK(doc["versions"]["piqa"] == "N/A");  // the result does not say which lm-eval semantics it followed
}

TEST_CASE("export lm-eval: two runs of one name keep apart (run id in the directory)", "[integration][export]") {
  TempDir dir;
  const std::string results = dir.file("results");
  FakeRun r;
  r.experiment = "exp", r.setting = "W4A16", r.method = "rtn", r.metrics = {{"piqa_acc", 70.0}};
  const std::string id = ptq::test::write_fake_run(results, r);
  // The same cell from an older version of the experiment file: another run id, the same name.
  json old = json::parse(read_text(results + "/runs/" + id + "/result.json"));
  old["run_id"] = old["cell"]["run_id"] = "0ld0ld0ld0ld0ld0";
  old["metrics"][0]["value"] = 60.0;
  fs::create_directories(results + "/runs/0ld0ld0ld0ld0ld0");
  write_text(results + "/runs/0ld0ld0ld0ld0ld0/result.json", old.dump());
  ingest(results);
  REQUIRE(run_ptqbench({"export", "--results", results, "-o", dir.file("out")}).exit_code == 0);
  const auto files = files_under(dir.file("out"));
  const std::string old_file = "exp__llama-2-7b__W4A16__rtn__0ld0ld0ld0ld0ld0/results_2026-01-01T00-00-00Z.json";
  const std::string new_file = "exp__llama-2-7b__W4A16__rtn__" + id + "/results_2026-01-01T00-00-00Z.json";
  REQUIRE(files.size() == 2);
  CHECK(std::count(files.begin(), files.end(), old_file) == 1);
  CHECK(std::count(files.begin(), files.end(), new_file) == 1);
  CHECK(num(json::parse(read_text(dir.file("out/" + old_file)))["results"]["piqa"]["acc,none"]) == Approx(0.60).epsilon(1e-12));
  CHECK(num(json::parse(read_text(dir.file("out/" + new_file)))["results"]["piqa"]["acc,none"]) == Approx(0.70).epsilon(1e-12));
}

TEST_CASE("export csv and jsonl: a row per (run, metric) with paper numbers, quoted fields read back", "[integration][export]") {
  TempDir dir;
  const std::string results = dir.file("results");
  const std::string papers = ptq::test::write_golden_fixture(results);  // "golden": 5 ok runs, 1 failed, papers P1/P2
  FakeRun odd;  // a label that needs quoting
  odd.experiment = "golden", odd.setting = "W4A16", odd.method = "rtn", odd.label = "rtn \"minmax\", per-channel";
  odd.index = 6, odd.metrics = {{"wikitext2_ppl", 6.5}}, odd.papers = {papers};
  ptq::test::write_fake_run(results, odd);
  ingest(results);

  const auto r = run_ptqbench({"export", "--format", "csv", "--results", results, "-o", dir.file("out")});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("1 failed runs have no results"));
  const auto rows = parse_csv(read_text(dir.file("out/results.csv")));
  REQUIRE(rows.size() == 1 + 5 + 4 + 4 + 4 + 4 + 1);  // header + FP's 5 metrics + 4 for each other run + odd's 1
  const std::vector<std::string>& head = rows[0];
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < head.size(); ++i) col[head[i]] = i;
  for (const char* c : {"experiment", "model", "setting", "method", "label", "seed", "metric", "value", "stderr", "n",
                        "n_total", "limit", "higher_is_better", "run_id", "paper_value", "paper"})
    CHECK(col.count(c) == 1);
  const auto find = [&](const std::string& label, const std::string& seed, const std::string& metric) {
    for (const auto& row : rows)
      if (row.size() == head.size() && row[col["label"]] == label && row[col["seed"]] == seed && row[col["metric"]] == metric)
        return row;
    FAIL("no row " << label << " seed " << seed << " " << metric);
    return std::vector<std::string>{};
  };
  const auto omni = find("omniquant", "2", "wikitext2_ppl");
  CHECK(std::stod(omni[col["value"]]) == 5.70);
  CHECK(std::stod(omni[col["stderr"]]) == 0.1);
  CHECK(omni[col["n"]] == "100");
  CHECK(omni[col["setting"]] == "W4A16");
  CHECK(omni[col["higher_is_better"]] == "false");
  CHECK(std::stod(omni[col["paper_value"]]) == 5.74);  // P1 T1, per-channel (not the g128 5.58)
  CHECK(omni[col["paper"]] == "P1");
  CHECK(find("fp", "", "wikitext2_ppl")[col["paper_value"]] == "5.47");
  CHECK(find("fp", "", "piqa")[col["paper_value"]].empty());  // no paper reports it
  CHECK(find("omniquant", "3", "piqa")[col["value"]] == "77.5");
  CHECK(find("rtn \"minmax\", per-channel", "", "wikitext2_ppl")[col["value"]] == "6.5");  // quoted, read back whole
  // The run's size on disk (result_fixtures.cpp: LLaMA-2-7B at 4 bits per channel, GPTQ-packed); none
  // recorded by the odd run.
  CHECK(std::stod(omni[col["effective_bits_per_weight"]]) == 101436160.0 * 8 / 202375168);
  CHECK(omni[col["packed_bytes"]] == "3770777600");
  CHECK(find("fp", "", "piqa")[col["effective_bits_per_weight"]] == "16");
  CHECK(find("rtn \"minmax\", per-channel", "", "wikitext2_ppl")[col["packed_bytes"]].empty());

  // JSON lines: the same rows, typed.
  REQUIRE(run_ptqbench({"export", "--format", "jsonl", "--results", results, "-o", dir.file("out/all.jsonl")}).exit_code == 0);
  std::istringstream lines(read_text(dir.file("out/all.jsonl")));
  std::vector<json> objs;
  for (std::string line; std::getline(lines, line);) objs.push_back(json::parse(line));
  REQUIRE(objs.size() == rows.size() - 1);
  for (size_t i = 0; i < objs.size(); ++i) {
    CHECK(objs[i]["metric"] == rows[i + 1][col["metric"]]);
    CHECK(objs[i]["value"].get<double>() == std::stod(rows[i + 1][col["value"]]));
  }
  const auto odd_row = std::find_if(objs.begin(), objs.end(), [](const json& o) { return o["label"] == "rtn \"minmax\", per-channel"; });
  REQUIRE(odd_row != objs.end());
  CHECK((*odd_row)["seed"].is_null());
  CHECK((*odd_row)["paper_value"].is_null());
  CHECK((*odd_row)["packed_bytes"].is_null());
  CHECK(objs[0]["packed_bytes"] == 13476831232);  // FP's first metric: the model in float16
  CHECK(files_under(dir.file("out")) == std::vector<std::string>{"all.jsonl", "results.csv"});  // no temp files left
}

TEST_CASE("export: bad input is one line and exit 2, nothing written", "[integration][export]") {
  TempDir dir;
  const std::string results = dir.file("results");
  ptq::test::write_golden_fixture(results);
  FakeRun failed;
  failed.experiment = "broken", failed.setting = "W4A16", failed.method = "rtn", failed.status = "failed",
  failed.error = "out of memory";
  ptq::test::write_fake_run(results, failed);
  ingest(results);
  write_text(dir.file("a_file"), "x");
  const std::string out = dir.file("out");
  const auto expect_error = [&](std::vector<std::string> args, const std::string& message) {
    args.insert(args.begin(), "export");
    const auto r = run_ptqbench(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("ptqbench: error: ", 0) == 0);
    CHECK_THAT(r.err, Contains(message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(out));
  };
  expect_error({"--db", dir.file("missing.db"), "-o", out}, "results database not found: " + dir.file("missing.db"));
  expect_error({"--results", results, "--experiment", "goldne", "-o", out},
               "--experiment: unknown experiment 'goldne' in " + results + "/ptqbench.db, did you mean 'golden'?");
  expect_error({"--format", "lm_eval", "--results", results, "-o", out},
               "--format: unknown export format 'lm_eval', did you mean 'lm-eval'? (expected one of: lm-eval, csv, jsonl)");
  expect_error({"--results", results, "--experiment", "broken", "-o", out},
               "experiment broken has no successful runs to export (1 failed)");
  expect_error({"--results", results, "-o", dir.file("a_file/sub")}, "-o " + dir.file("a_file/sub") + ": cannot create directory");
  expect_error({"--results", results, "-o", dir.file("a_file")}, "-o " + dir.file("a_file") + ": " + dir.file("a_file") +
                                                                      " exists and is not a directory");
  ptq::store::ResultsDb empty(dir.file("empty/ptqbench.db"));  // a database before any ingest
  expect_error({"--results", dir.file("empty"), "-o", out}, "holds no runs yet: nothing to export");
}
