// Hostile JSON and absurd numbers through the real binary (issue #29, cases 1, 3, 5 and the duplicate
// keys of 4): each is one line "ptqbench: error: ..." naming the file or option, the key, the value and
// (for limits) the limit, exit code 2, and nothing written. Before the fix these crashed (a 100 000-deep
// value: SIGSEGV), allocated until bad_alloc (num_hidden_layers 1e9), passed `plan` (calibration n 1e9,
// threads -1), or exited 1 (1e400, a 300-character name). Each case is one short process on the
// embedded tiny model (about a second).
#include "tests/support/cli_runner.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

using Catch::Matchers::Contains;
using ptq::test::tiny_model;
using ptq::test::tiny_data;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

std::string deep(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A valid experiment file on the tiny model (`plan` accepts it), as text so that a case can put raw JSON
// anywhere: `replace` swaps the first occurrence of a piece of it.
std::string spec_text(const std::string& from = "", const std::string& to = "") {
  std::string s = R"({"name": "hostile", "description": "x",
 "models": [{"id": "tiny", "path": ")" + tiny_model() + R"("}],
 "settings": ["W4A16"],
 "methods": ["rtn"],
 "calibration": {"dataset": "wikitext2", "data": ")" + tiny_data() + R"(/wikitext2", "n": 4, "seqlen": 64},
 "evaluators": {"data_dir": ")" + tiny_data() + R"(", "seqlen": 64, "tasks": ["wikitext2"]},
 "runtime": {"threads": 1}}
)";
  if (!from.empty()) {
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
  }
  return s;
}

void check_one_line_error(const ptq::test::CliResult& r, const std::string& part) {
  INFO("stderr: " << r.err.substr(0, 2000));
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("ptqbench: error: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.size() < 600);
  CHECK_THAT(r.err, Contains(part));
}

// `ptqbench plan` of the spec text: the error, and no plan file.
void check_plan_refused(const std::string& text, const std::string& part) {
  TempDir dir;
  ptq::test::write_text(dir.file("spec.json"), text);
  const auto r = run_ptqbench({"plan", dir.file("spec.json"), "-o", dir.file("plan.jsonl")});
  check_one_line_error(r, dir.file("spec.json") + ": " + part);
  CHECK_FALSE(fs::exists(dir.file("plan.jsonl")));
}

std::vector<std::string> quantize_args(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> a = {"quantize", "--model", tiny_model(), "--method", "rtn", "--setting", "W4A16",
                                "--out", dir.file("q")};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace

TEST_CASE("the control spec plans (every hostile case below differs from it in one place)",
          "[integration][hostile_json]") {
  TempDir dir;
  ptq::test::write_text(dir.file("spec.json"), spec_text());
  const auto r = run_ptqbench({"plan", dir.file("spec.json"), "-o", dir.file("plan.jsonl")});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(dir.file("plan.jsonl")));
}

TEST_CASE("a value nested 100 000 deep is one line naming the file, line and column, not a stack overflow",
          "[integration][hostile_json]") {
  SECTION("an experiment file's description") {
    check_plan_refused(spec_text("\"x\"", deep(100'000)),
                       "JSON nested deeper than 64 levels at line 1, column 99 (PTQBENCH_MAX_JSON_DEPTH raises it)");
  }
  SECTION("config.json (ptqbench info)") {
    TempDir dir;
    fs::create_directories(dir.file("m"));
    fs::copy_file(tiny_model() + "/config.json", dir.file("m/config.json"));
    nlohmann::json config = nlohmann::json::parse(ptq::test::read_text(dir.file("m/config.json")));
    config["_comment"] = "placeholder";
    std::string text = config.dump();
    text.replace(text.find("\"placeholder\""), 13, deep(100'000));
    ptq::test::write_text(dir.file("m/config.json"), text);
    check_one_line_error(run_ptqbench({"info", dir.file("m")}),
                         dir.file("m/config.json") + ": JSON nested deeper than 64 levels at line 1, column ");
  }
  SECTION("--config, inline and @file") {
    TempDir dir;
    // Inline at most 50 000 deep: one argument may not exceed 128 kB (Linux MAX_ARG_STRLEN).
    check_one_line_error(run_ptqbench(quantize_args(dir, {"--config", "{\"range\": " + deep(50'000) + "}"})),
                         "--config argument: JSON nested deeper than 64 levels at line 1, column 74");
    ptq::test::write_text(dir.file("c.json"), deep(100'000));
    check_one_line_error(run_ptqbench(quantize_args(dir, {"--config", "@" + dir.file("c.json")})),
                         "--config " + dir.file("c.json") + ": JSON nested deeper than 64 levels at line 1, column 65");
    CHECK_FALSE(fs::exists(dir.file("q")));
  }
}

TEST_CASE("a key given twice in an experiment file or --config is refused with its line",
          "[integration][hostile_json]") {
  check_plan_refused(spec_text("\"n\": 4,", "\"n\": 4,\n \"n\": 8,"),
                     "key \"n\" appears twice in the same object (line 6)");
  TempDir dir;
  check_one_line_error(run_ptqbench(quantize_args(dir, {"--config", R"({"range": "minmax", "range": "mse"})"})),
                       "--config argument: key \"range\" appears twice in the same object (line 1)");
  CHECK_FALSE(fs::exists(dir.file("q")));
}

TEST_CASE("numbers beyond a double (1e400) are input errors naming file, line and column",
          "[integration][hostile_json]") {
  check_plan_refused(spec_text("\"n\": 4", "\"n\": 1e400"),
                     "number 1e400 at line 5, column ");
  TempDir dir;
  check_one_line_error(run_ptqbench(quantize_args(dir, {"--config", R"({"epochs": 1e400})"})),
                       "--config argument: number 1e400 at line 1, column 12 is out of range");
}

TEST_CASE("num_hidden_layers 1e9 fails at config read, before any allocation", "[integration][hostile_json]") {
  TempDir dir;
  fs::create_directories(dir.file("m"));
  nlohmann::json config = nlohmann::json::parse(ptq::test::read_text(tiny_model() + "/config.json"));
  config["num_hidden_layers"] = 1'000'000'000;
  ptq::test::write_text(dir.file("m/config.json"), config.dump());
  fs::copy_file(tiny_model() + "/model.safetensors", dir.file("m/model.safetensors"));
  check_one_line_error(run_ptqbench({"info", dir.file("m")}),
                       dir.file("m/config.json") + ": num_hidden_layers: 1000000000 exceeds the limit of 1024 "
                       "transformer layers (num_hidden_layers) (PTQBENCH_MAX_LAYERS raises it)");
  config["num_hidden_layers"] = 2;
  config["vocab_size"] = 4'000'000'000LL;
  ptq::test::write_text(dir.file("m/config.json"), config.dump());
  check_one_line_error(run_ptqbench({"info", dir.file("m")}),
                       "config.json: vocab_size: 4000000000 exceeds the limit of 1048576 vocabulary entries");
}

TEST_CASE("threads: --threads 100000 and a spec's -1 or 100000 are refused before any work",
          "[integration][hostile_json]") {
  TempDir dir;
  check_one_line_error(run_ptqbench(quantize_args(dir, {"--threads", "100000"})),
                       "--threads: 100000 exceeds the limit of 1024 threads (PTQBENCH_MAX_THREADS raises it");
  check_one_line_error(run_ptqbench(quantize_args(dir, {"--threads", "-1"})),
                       "--threads: -1 is negative, expected 0 (all cores) to 1024 threads");
  CHECK_FALSE(fs::exists(dir.file("q")));
  check_plan_refused(spec_text("\"threads\": 1", "\"threads\": -1"),
                     "runtime.threads: -1 is negative, expected 0 (all cores) to 1024 threads");
  check_plan_refused(spec_text("\"threads\": 1", "\"threads\": 100000"),
                     "runtime.threads: 100000 exceeds the limit of 1024 threads");
  // Beyond an int: refused by type, not wrapped to a small number.
  check_plan_refused(spec_text("\"threads\": 1", "\"threads\": 4294967297"),
                     "runtime: \"threads\" is 4294967297, expected an integer from -2147483648 to 2147483647");
}

TEST_CASE("calibration n, seqlen and n x seqlen of 1e9 are refused at plan and by quantize",
          "[integration][hostile_json]") {
  check_plan_refused(spec_text("\"n\": 4", "\"n\": 1000000000"),
                     "calibration.n: 1000000000 exceeds the limit of 1000000 calibration samples "
                     "(PTQBENCH_MAX_CALIBRATION_SAMPLES raises it)");
  check_plan_refused(spec_text("\"seqlen\": 64}", "\"seqlen\": 1000000000}"),
                     "calibration.seqlen: 1000000000 exceeds the limit of 1048576 tokens of context");
  check_plan_refused(spec_text("\"n\": 4, \"seqlen\": 64", "\"n\": 100000, \"seqlen\": 100000"),
                     "calibration: n x seqlen (100000 x 100000): 10000000000 exceeds the limit of 16777216 calibration "
                     "tokens (n x seqlen) (PTQBENCH_MAX_CALIBRATION_TOKENS raises it)");
  check_plan_refused(spec_text("\"seqlen\": 64, \"tasks\"", "\"seqlen\": 1000000000, \"tasks\""),
                     "evaluators.tasks[0].seqlen: 1000000000 exceeds the limit of 1048576 tokens of context");
  TempDir dir;
  check_one_line_error(run_ptqbench(quantize_args(dir, {"--nsamples", "1000000000"})),
                       "--nsamples: 1000000000 exceeds the limit of 1000000 calibration samples");
  check_one_line_error(run_ptqbench(quantize_args(dir, {"--seqlen", "1000000000"})),
                       "--seqlen: 1000000000 exceeds the limit of 1048576 tokens of context");
  CHECK_FALSE(fs::exists(dir.file("q")));
}

TEST_CASE("W4A16g999999999999 and W99A16 are input errors in a spec and on the command line",
          "[integration][hostile_json]") {
  check_plan_refused(spec_text("\"W4A16\"", "\"W4A16g999999999999\""),
                     "settings[0]: setting 'W4A16g999999999999': group size 999999999999 is larger than any layer's "
                     "input width");
  check_plan_refused(spec_text("\"W4A16\"", "\"W99A16\""), "settings[0]: setting 'W99A16': weight bits 99 outside 2..8");
  TempDir dir;
  auto a = quantize_args(dir, {});
  a[6] = "W4A16g999999999999";
  check_one_line_error(run_ptqbench(a), "setting 'W4A16g999999999999': group size 999999999999");
  CHECK_FALSE(fs::exists(dir.file("q")));
}

TEST_CASE("a 300-character experiment name is an input error, nothing written", "[integration][hostile_json]") {
  const std::string name(300, 'n');
  check_plan_refused(spec_text("\"hostile\"", "\"" + name + "\""),
                     "name: \"" + std::string(120, 'n') + "… (300 bytes)\" is 300 characters long, longer than the "
                     "limit of 200 characters in a name");
  TempDir dir;
  ptq::test::write_text(dir.file("spec.json"), spec_text("\"hostile\"", "\"" + name + "\""));
  const auto r = run_ptqbench({"run", dir.file("spec.json"), "--results", dir.file("results"), "--no-report"});
  check_one_line_error(r, "is 300 characters long");
  // No plan, no cell, no database (the results directory itself may exist: `run` checks it is writable first).
  CHECK_FALSE(fs::exists(dir.file("results/plans")));
  CHECK_FALSE(fs::exists(dir.file("results/runs")));
  CHECK_FALSE(fs::exists(dir.file("results/ptqbench.db")));
}
