// `ptqbench run` end to end on a small random model: resuming after a kill, failed cells retried alone,
// parallel workers giving the same database as one run, NaN detection, and bad specs refused before any
// cell runs. Faults come from the test-only method "test_fault" (PTQBENCH_TEST_METHODS=1).
#include "harness/data/calibration.h"
#include "harness/io/json_file.h"
#include "harness/model/tokenizer.h"
#include "harness/run/plan.h"
#include "harness/store/results_db.h"
#include "tests/support/cli_runner.h"
#include "tests/support/random_model.h"
#include "tests/support/test_env.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <filesystem>
#include <map>
#include <thread>

using Catch::Matchers::Contains;
using ptq::test::run_ptqbench;
using ptq::test::TempDir;

namespace fs = std::filesystem;

namespace {

struct Fixture {
  TempDir dir;
  Fixture() {
    ::setenv("PTQBENCH_TEST_METHODS", "1", 1);
    ptq::test::write_random_checkpoint(dir.file("model"), ptq::test::tiny_config(), 7);
    ptq::test::write_token_ids(dir.file("ids.npy"), 8 * 32, 31, 5);
  }
  // FP, then test_fault (W16A16), then RTN at W4A16 and W8A8.
  std::string write_spec(const nlohmann::json& fault_config, const nlohmann::json& runtime = {{"threads", 1}}) const {
    const nlohmann::json spec = {
        {"name", "faults"},
        {"models", {{{"id", "rand"}, {"path", dir.file("model")}}}},
        {"methods", {{{"name", "test_fault"}, {"config", fault_config}, {"settings", {"W16A16"}}},
                     {{"name", "rtn"}, {"settings", {"W4A16", "W8A8"}}}}},
        {"evaluators", {{"seqlen", 32}, {"tasks", {{{"task", "tokens"}, {"data", dir.file("ids.npy")}}}}}},
        {"runtime", runtime}};
    ptq::test::write_text(dir.file("spec.json"), spec.dump(2));
    return dir.file("spec.json");
  }
  std::vector<std::string> run_ids() const {
    std::vector<std::string> ids;
    const std::string text = ptq::test::read_text(dir.file("results/plans/faults.jsonl"));
    size_t pos = 0;
    while ((pos = text.find("\"run_id\":\"", pos)) != std::string::npos) {
      ids.push_back(text.substr(pos + 10, 16));
      pos += 10;
    }
    return ids;
  }
  std::string run_dir(const std::string& id) const { return dir.file("results/runs/" + id); }
};

// Starts `ptqbench args...` in its own process group (the matrix and its cell children).
pid_t spawn_ptqbench(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    std::vector<std::string> full = {ptq::test::ptqbench_path()};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    FILE* f = std::fopen(log.c_str(), "w");
    ::dup2(fileno(f), 1);
    ::dup2(fileno(f), 2);
    ::setenv("GOMP_SPINCOUNT", "0", 1);
    ::setenv("PTQ_PROGRESS", "plain", 1);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  ::setpgid(pid, pid);
  return pid;
}

bool wait_for(const std::function<bool()>& cond, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

std::vector<std::string> table_rows(const std::string& db_path, const std::string& sql) {
  ptq::store::ResultsDb db(db_path, true);
  SQLite::Statement q(db.db(), sql);
  std::vector<std::string> rows;
  while (q.executeStep()) {
    std::string row;
    for (int i = 0; i < q.getColumnCount(); ++i) row += q.getColumn(i).getString() + "|";
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

TEST_CASE("a killed matrix resumes with only the missing cells", "[integration][runner]") {
  Fixture f;
  ptq::test::write_text(f.dir.file("block"), "");
  const std::string spec = f.write_spec({{"block_while_exists", f.dir.file("block")}});
  const pid_t pid = spawn_ptqbench({"run", spec, "--results", f.dir.file("results"), "--no-cache"}, f.dir.file("log1"));
  // Wait until the FP cell is DONE and the blocking cell has started, then kill everything.
  REQUIRE(wait_for([&] { return fs::exists(f.dir.file("results/plans/faults.jsonl")); }, 60));
  const auto ids = f.run_ids();
  REQUIRE(ids.size() == 4);
  REQUIRE(wait_for([&] { return fs::exists(f.run_dir(ids[0]) + "/DONE") && fs::exists(f.run_dir(ids[1]) + "/started.json"); }, 120));
  ::kill(-pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK_FALSE(fs::exists(f.run_dir(ids[1]) + "/result.json"));  // the killed cell left no result
  CHECK_FALSE(fs::exists(f.run_dir(ids[2])));
  const std::string first_result = ptq::test::read_text(f.run_dir(ids[0]) + "/result.json");

  fs::remove(f.dir.file("block"));
  const auto r = run_ptqbench({"run", spec, "--results", f.dir.file("results"), "--no-cache"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Contains("4 cells: 1 already done, 3 to run"));
  CHECK(ptq::test::read_text(f.run_dir(ids[0]) + "/result.json") == first_result);  // not run again
  for (const auto& id : ids) CHECK(fs::exists(f.run_dir(id) + "/DONE"));
  CHECK_THAT(r.out, Contains("| W16A16 ") && Contains("| W4A16  ") && Contains("| W8A8   "));
  // Each cell records its size on disk in the GPTQ-packed export (issue #30). The random model (hidden 64,
  // intermediate 96, q_dim 64, kv_dim 32, 2 layers) at 4 bits per channel, per layer: q, o 8*64*4 + 8*4 +
  // 64*2 + 64*4 = 2464 each, k, v 8*32*4 + 4*4 + 32*2 + 64*4 = 1360 each, gate, up 8*96*4 + 12*4 + 96*2 +
  // 64*4 = 3568 each, down 12*64*4 + 8*4 + 64*2 + 96*4 = 3616: 18 400 bytes for 30 720 weights.
  const auto w4 = ptq::io::read_json_file(f.run_dir(ids[2]) + "/result.json").at("size");
  CHECK(w4.at("size_kind") == "gptq_packed");
  CHECK(w4.at("quantized_linear_bytes") == 2 * 18400);
  CHECK(w4.at("bits_per_weight").get<double>() == Approx(18400.0 * 8 / 30720));  // 4.79
  CHECK(ptq::io::read_json_file(f.run_dir(ids[0]) + "/result.json").at("size").at("bits_per_weight") == 16);
  CHECK_THAT(r.out, Contains("| W4A16   |   4.79 |"));  // the report's bits/w column

  // Everything is DONE now: a third run only reports.
  const auto again = run_ptqbench({"run", spec, "--results", f.dir.file("results"), "--no-cache"});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.err, Contains("4 cells: 4 already done, 0 to run"));
}

TEST_CASE("a cell another worker is running is skipped, not run twice", "[integration][runner]") {
  Fixture f;
  ptq::test::write_text(f.dir.file("block"), "");
  const std::string spec = f.write_spec({{"block_while_exists", f.dir.file("block")}});
  REQUIRE(run_ptqbench({"plan", spec, "-o", f.dir.file("plan.jsonl")}).exit_code == 0);
  const pid_t a = spawn_ptqbench({"run", "--plan", f.dir.file("plan.jsonl"), "--index", "1", "--results",
                                  f.dir.file("results"), "--no-cache"}, f.dir.file("log-a"));
  const auto ids = ptq::run::read_plan(f.dir.file("plan.jsonl"));
  const std::string dir = f.run_dir(ids[1].run_id);
  REQUIRE(wait_for([&] { return fs::exists(dir + "/started.json"); }, 60));
  const auto b = run_ptqbench({"run", "--plan", f.dir.file("plan.jsonl"), "--index", "1", "--results",
                               f.dir.file("results"), "--no-cache"});
  CHECK(b.exit_code == 4);
  CHECK_THAT(b.err, Contains("another worker is running it"));
  fs::remove(f.dir.file("block"));
  int status = 0;
  ::waitpid(a, &status, 0);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(fs::exists(dir + "/DONE"));
}

TEST_CASE("a failed cell is recorded, the matrix goes on, a re-run retries only it", "[integration][runner]") {
  Fixture f;
  ptq::test::write_text(f.dir.file("fail"), "");
  const std::string spec = f.write_spec({{"fail_while_exists", f.dir.file("fail")}});
  const auto r = run_ptqbench({"run", spec, "--results", f.dir.file("results"), "--no-cache"});
  INFO(r.err);
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Contains("ptqbench: error: 1 of 4 cells failed"));
  const auto ids = f.run_ids();
  const auto failed = ptq::io::read_json_file(f.run_dir(ids[1]) + "/result.json");
  CHECK(failed["status"] == "failed");
  CHECK_THAT(failed["error"].get<std::string>(), Contains("failing on purpose"));
  CHECK_FALSE(fs::exists(f.run_dir(ids[1]) + "/DONE"));
  for (size_t i : {0, 2, 3}) CHECK(fs::exists(f.run_dir(ids[i]) + "/DONE"));
  CHECK_THAT(r.out, Contains("1 failed run(s)") && Contains("failing on purpose"));

  fs::remove(f.dir.file("fail"));
  const auto retry = run_ptqbench({"run", spec, "--results", f.dir.file("results"), "--no-cache"});
  INFO(retry.err);
  CHECK(retry.exit_code == 0);
  CHECK_THAT(retry.err, Contains("4 cells: 3 already done, 1 to run"));
  CHECK(ptq::io::read_json_file(f.run_dir(ids[1]) + "/result.json")["status"] == "ok");
  CHECK(retry.out.find("failed run") == std::string::npos);  // the ingest replaced the failure
}

TEST_CASE("two workers on disjoint --index sets + one ingest = one single run = --jobs 2", "[integration][runner]") {
  Fixture f;
  const std::string spec = f.write_spec(nlohmann::json::object());
  const auto p = run_ptqbench({"plan", spec, "-o", f.dir.file("plan.jsonl")});
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  const pid_t a = spawn_ptqbench({"run", "--plan", f.dir.file("plan.jsonl"), "--index", "0,2", "--results",
                                  f.dir.file("par"), "--no-cache"}, f.dir.file("log-a"));
  const pid_t b = spawn_ptqbench({"run", "--plan", f.dir.file("plan.jsonl"), "--index", "1,3", "--results",
                                  f.dir.file("par"), "--no-cache"}, f.dir.file("log-b"));
  int sa = 0, sb = 0;
  ::waitpid(a, &sa, 0);
  ::waitpid(b, &sb, 0);
  INFO(ptq::test::read_text(f.dir.file("log-a")) << ptq::test::read_text(f.dir.file("log-b")));
  REQUIRE((WIFEXITED(sa) && WEXITSTATUS(sa) == 0));
  REQUIRE((WIFEXITED(sb) && WEXITSTATUS(sb) == 0));
  REQUIRE(run_ptqbench({"ingest", "--results", f.dir.file("par")}).exit_code == 0);

  const auto single = run_ptqbench({"run", "--plan", f.dir.file("plan.jsonl"), "--index", "all", "--results",
                                    f.dir.file("one"), "--no-cache"});
  INFO(single.err);
  REQUIRE(single.exit_code == 0);
  REQUIRE(run_ptqbench({"ingest", "--results", f.dir.file("one")}).exit_code == 0);

  // The same plan, two cells at a time, each pinned to a "GPU" slot (CPU cells ignore it, the
  // provenance records it).
  const auto jobs = run_ptqbench({"run", "--plan", f.dir.file("plan.jsonl"), "--index", "all", "--jobs", "2", "--gpus",
                                  "3,5", "--results", f.dir.file("jobs"), "--no-cache"});
  INFO(jobs.err);
  REQUIRE(jobs.exit_code == 0);
  CHECK_THAT(jobs.err, Contains("(2 at a time)") && Contains(", GPU 3)") && Contains(", GPU 5)"));
  REQUIRE(run_ptqbench({"ingest", "--results", f.dir.file("jobs")}).exit_code == 0);
  std::set<std::string> gpus_seen;
  for (const auto& c : ptq::run::read_plan(f.dir.file("plan.jsonl")))
    gpus_seen.insert(ptq::io::read_json_file(f.dir.file("jobs/runs/" + c.run_id + "/result.json"))
                         ["provenance"]["scheduler"]["CUDA_VISIBLE_DEVICES"].get<std::string>());
  CHECK(gpus_seen == std::set<std::string>{"3", "5"});

  const std::string runs_sql =
      "SELECT run_id, experiment, cell_index, model_id, setting, method, label, config_json, status FROM runs ORDER BY run_id";
  const std::string metrics_sql = "SELECT run_id, metric, value, stderr, n FROM metrics ORDER BY run_id, metric";
  const auto par_runs = table_rows(f.dir.file("par/ptqbench.db"), runs_sql);
  CHECK(par_runs.size() == 4);
  CHECK(par_runs == table_rows(f.dir.file("one/ptqbench.db"), runs_sql));
  const auto par_metrics = table_rows(f.dir.file("par/ptqbench.db"), metrics_sql);
  CHECK(par_metrics.size() == 4);
  CHECK(par_metrics == table_rows(f.dir.file("one/ptqbench.db"), metrics_sql));
  CHECK(par_runs == table_rows(f.dir.file("jobs/ptqbench.db"), runs_sql));
  CHECK(par_metrics == table_rows(f.dir.file("jobs/ptqbench.db"), metrics_sql));
}

TEST_CASE("NaN weights fail the cell with a clear error", "[integration][runner]") {
  Fixture f;
  const std::string spec = f.write_spec({{"nan", true}});
  const auto p = run_ptqbench({"plan", spec, "-o", f.dir.file("plan.jsonl")});
  REQUIRE(p.exit_code == 0);
  const auto r = run_ptqbench({"run", "--plan", f.dir.file("plan.jsonl"), "--index", "1", "--results",
                               f.dir.file("results"), "--no-cache"});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Contains("ptqbench: error: cell 1 (test_fault W16A16 rand) failed: segment 0: loss is nan"));
}

TEST_CASE("streamed cells compute what resident cells do, a failed streamed cell leaves no spill behind",
          "[integration][runner][streaming]") {
  Fixture f;
  std::map<std::string, nlohmann::json> metrics[2];
  for (int streamed = 0; streamed < 2; ++streamed) {
    // test_fault writes NaN into block 0 (set_block: spilled when streamed), so its cell fails.
    const std::string spec = f.write_spec({{"nan", true}}, {{"threads", 1}, {"stream", streamed ? "on" : "off"}});
    const std::string results = f.dir.file(streamed ? "results_streamed" : "results_resident");
    const auto r = run_ptqbench({"run", spec, "--results", results, "--no-cache"});
    INFO(r.err);
    CHECK(r.exit_code == 3);  // one failed cell
    for (const auto& e : fs::directory_iterator(results + "/runs")) {
      const auto result = nlohmann::json::parse(ptq::test::read_text((e.path() / "result.json").string()));
      CHECK(result["provenance"]["streaming"]["streamed"] == (streamed == 1));
      CHECK_FALSE(fs::exists(e.path() / "work" / "stream"));
      metrics[streamed][e.path().filename().string()] = result["status"] == "ok" ? result["metrics"] : result["status"];
    }
  }
  CHECK(metrics[0].size() == 4);
  CHECK(metrics[0] == metrics[1]);  // same run ids, same numbers; the same cell failed
}

TEST_CASE("a malformed experiment file is refused before any cell runs", "[integration][runner]") {
  Fixture f;
  nlohmann::json spec = ptq::io::read_json_file(f.write_spec(nlohmann::json::object()));
  spec["methods"][1]["name"] = "rnt";
  ptq::test::write_text(f.dir.file("bad.json"), spec.dump());
  const auto r = run_ptqbench({"run", f.dir.file("bad.json"), "--results", f.dir.file("results")});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("bad.json: methods[1].name: unknown method"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK_FALSE(fs::exists(f.dir.file("results")));

  spec = ptq::io::read_json_file(f.write_spec(nlohmann::json::object()));
  spec["models"][0]["path"] = f.dir.file("missing-model");
  ptq::test::write_text(f.dir.file("bad2.json"), spec.dump());
  const auto r2 = run_ptqbench({"run", f.dir.file("bad2.json"), "--results", f.dir.file("results")});
  CHECK(r2.exit_code == 2);
  CHECK_THAT(r2.err, Contains("models[0].path: model directory not found"));
  CHECK_FALSE(fs::exists(f.dir.file("results")));
}

TEST_CASE("methods that calibrate get one cell per seed with the windows of that seed", "[integration][runner]") {
  Fixture f;
  const std::string src = ptq::test::source_dir();
  const nlohmann::json spec = {
      {"name", "calib"},
      {"models", {{{"id", "tiny"}, {"path", src + "/experiments/models/tiny-llama"}}}},
      {"fp_baseline", false},
      {"methods", {{{"name", "test_fault"}, {"config", {{"calibrate", true}}}, {"settings", {"W16A16"}}}}},
      {"calibration", {{"dataset", "wikitext2"}, {"data", src + "/experiments/data/tiny/wikitext2"}, {"n", 4},
                       {"seqlen", 64}, {"seeds", {0, 5}}}},
      {"evaluators", {{"seqlen", 32}, {"tasks", {{{"task", "tokens"}, {"data", f.dir.file("ids.npy")}}}}}},
      {"runtime", {{"threads", 1}}}};
  ptq::test::write_text(f.dir.file("calib.json"), spec.dump());
  const auto r = run_ptqbench({"run", f.dir.file("calib.json"), "--results", f.dir.file("results"), "--no-cache"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto cells = ptq::run::read_plan(f.dir.file("results/plans/calib.jsonl"));
  REQUIRE(cells.size() == 2);
  const ptq::Tokenizer tok = ptq::Tokenizer::load(src + "/experiments/models/tiny-llama/tokenizer.model");
  std::vector<std::string> hashes;
  for (size_t i = 0; i < 2; ++i) {
    const int64_t seed = cells[i].calibration.value().seed;
    CHECK(seed == (i == 0 ? 0 : 5));
    const auto result = ptq::io::read_json_file(f.run_dir(cells[i].run_id) + "/result.json");
    // The same windows, drawn independently here.
    const auto expected = ptq::eval::sample_calibration("wikitext2", src + "/experiments/data/tiny/wikitext2", tok, 4, 64,
                                                        seed, ptq::eval::TokenCache::disabled());
    CHECK(result["method_summary"]["calibration_shape"] == nlohmann::json({4, 64}));
    CHECK(result["method_summary"]["calibration_sum"].get<int64_t>() == expected.windows.sum().item<int64_t>());
    CHECK(result["calibration"]["windows_sha256"] == expected.provenance["windows_sha256"]);
    hashes.push_back(result["calibration"]["windows_sha256"].get<std::string>());
  }
  CHECK(hashes[0] != hashes[1]);
  // Two seeds of one row: the report prints mean +- std (the method changes nothing, so std is 0).
  CHECK_THAT(r.out, Contains(" ± 0.0"));
}

TEST_CASE("LRQuant's test-time adaptation runs per perplexity task in a cell and is recorded", "[integration][runner]") {
  Fixture f;
  const std::string src = ptq::test::source_dir();
  const nlohmann::json spec = {
      {"name", "tta"},
      {"models", {{{"id", "tiny"}, {"path", src + "/experiments/models/tiny-llama"}}}},
      {"fp_baseline", false},
      {"methods", {{{"name", "lrquant"}, {"config", {{"epochs", 1}, {"tta", true}, {"tta_epochs", 1}}}, {"settings", {"W4A4"}}}}},
      {"calibration", {{"dataset", "wikitext2"}, {"data", src + "/experiments/data/tiny/wikitext2"}, {"n", 2}, {"seqlen", 64}}},
      {"evaluators", {{"data_dir", src + "/experiments/data/tiny"}, {"seqlen", 512}, {"limit", 3}, {"tasks", {"wikitext2", "c4"}}}},
      {"runtime", {{"threads", 1}}}};
  ptq::test::write_text(f.dir.file("tta.json"), spec.dump());
  const auto r = run_ptqbench({"run", f.dir.file("tta.json"), "--results", f.dir.file("results"), "--no-cache"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto cells = ptq::run::read_plan(f.dir.file("results/plans/tta.jsonl"));
  REQUIRE(cells.size() == 1);
  const auto result = ptq::io::read_json_file(f.run_dir(cells[0].run_id) + "/result.json");
  // Calibrated on WikiText-2: adapted on C4 only (the released code's rule), on exactly the 3 scored windows.
  CHECK(result["details"]["wikitext2"]["evaluation_adaptation"]["applied"] == false);
  const auto& c4 = result["details"]["c4"]["evaluation_adaptation"];
  CHECK(c4["applied"] == true);
  CHECK(c4["transductive"] == true);
  CHECK(c4["mode"] == "paper");
  CHECK(c4["windows"] == 3);
  CHECK(result["method_summary"]["tta"]["transductive"] == true);
}

TEST_CASE("SIGUSR1 stops a worker mid-block with its state saved (exit 5), running it again resumes to the same result",
          "[integration][runner][preemption]") {
  Fixture f;
  const std::string src = ptq::test::source_dir();
  const nlohmann::json spec = {
      {"name", "preempt"},
      {"models", {{{"id", "tiny"}, {"path", src + "/experiments/models/tiny-llama"}}}},
      {"fp_baseline", false},
      {"methods", {{{"name", "omniquant"}, {"config", {{"epochs", 20}}}, {"settings", {"W4A16"}}}}},
      {"calibration", {{"dataset", "wikitext2"}, {"data", src + "/experiments/data/tiny/wikitext2"}, {"n", 4}, {"seqlen", 128}}},
      {"evaluators", {{"seqlen", 32}, {"tasks", {{{"task", "tokens"}, {"data", f.dir.file("ids.npy")}}}}}},
      {"runtime", {{"threads", 1}}}};
  ptq::test::write_text(f.dir.file("preempt.json"), spec.dump());
  REQUIRE(run_ptqbench({"plan", f.dir.file("preempt.json"), "-o", f.dir.file("plan.jsonl")}).exit_code == 0);
  const std::string run_id = ptq::run::read_plan(f.dir.file("plan.jsonl")).at(0).run_id;
  const std::vector<std::string> cell = {"run", "--plan", f.dir.file("plan.jsonl"), "--index", "0", "--no-cache", "--results"};
  const auto with_results = [&](const std::string& results) {
    auto args = cell;
    args.push_back(results);
    return args;
  };
  const std::string work = f.dir.file("results/runs/" + run_id + "/work/omniquant");

  const pid_t pid = spawn_ptqbench(with_results(f.dir.file("results")), f.dir.file("log"));
  REQUIRE(wait_for([&] { return fs::exists(work + "/block_0.safetensors"); }, 120));
  ::kill(pid, SIGUSR1);  // what Slurm's --signal=B:USR1@N, forwarded by the batch script, delivers
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::string log = ptq::test::read_text(f.dir.file("log"));
  INFO(log);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 5);
  CHECK_THAT(log, Contains("stopped on SIGUSR1; state saved to"));
  CHECK_FALSE(fs::exists(f.run_dir(run_id) + "/result.json"));  // still to do
  bool partial = false;
  for (const auto& e : fs::directory_iterator(work)) partial |= e.path().filename().string().rfind("partial_block_", 0) == 0;
  CHECK(partial);

  const auto resumed = run_ptqbench(with_results(f.dir.file("results")));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Contains("resuming at epoch"));
  const auto clean = run_ptqbench(with_results(f.dir.file("clean")));
  REQUIRE(clean.exit_code == 0);
  const auto a = ptq::io::read_json_file(f.run_dir(run_id) + "/result.json");
  const auto b = ptq::io::read_json_file(f.dir.file("clean/runs/" + run_id + "/result.json"));
  CHECK(a["metrics"] == b["metrics"]);
  CHECK(a["method_summary"]["recon"]["blocks"][3]["last_epoch_loss"] == b["method_summary"]["recon"]["blocks"][3]["last_epoch_loss"]);
}
