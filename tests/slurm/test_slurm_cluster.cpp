// `ptqbench slurm` on a real single-node Slurm cluster (tests/slurm/local_cluster: Debian's slurmctld,
// slurmd and munge on localhost): a 4-cell matrix of the tiny model goes through a job array and the
// dependent ingest + report job; one cell is preempted mid-block (SIGUSR1 to its batch script, as
// --signal=B:USR1@N does before a time limit), saves its state, requeues itself and resumes. The
// database and the report must equal those of a local `ptqbench run` of the same spec.
// Skipped (exit 77) without slurm-wlm (PTQ_WITH_SLURM=1 scripts/setup) or without root.
#include "harness/store/results_db.h"
#include "tests/support/cli_runner.h"
#include "tests/support/test_env.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

namespace fs = std::filesystem;
using ptq::test::read_text;
using ptq::test::run_ptqbench;

namespace {

struct Shell {
  int rc;
  std::string out;
};

Shell shell(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  char buf[1024];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool on_path(const std::string& tool) { return shell("command -v " + tool).rc == 0; }

// Polls `done` every 200 ms for up to `seconds`; false on timeout.
bool wait_for(double seconds, const std::function<bool()>& done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

std::string file_text(const std::string& path) { return fs::exists(path) ? read_text(path) : ""; }

class LocalCluster {
 public:
  explicit LocalCluster(const std::string& dir) : dir_(dir), script_(ptq::test::source_dir() + "/tests/slurm/local_cluster") {
    const Shell s = shell(script_ + " start " + dir_ + " 2");
    if (s.rc != 0) FAIL("the local Slurm cluster did not start:\n" << s.out);
    ::setenv("SLURM_CONF", (dir_ + "/slurm.conf").c_str(), 1);  // for sbatch/scontrol here and in ptqbench
  }
  ~LocalCluster() { shell(script_ + " stop " + dir_); }
  std::string logs() const { return shell("tail -n 30 " + dir_ + "/log/*.log").out; }

 private:
  std::string dir_, script_;
};

std::string job_state(const std::string& job) {
  const std::string out = shell("scontrol show job -o " + job).out;
  const size_t at = out.find("JobState=");
  return at == std::string::npos ? "" : out.substr(at + 9, out.find(' ', at) - at - 9);
}

// (setting, label, metric) -> value, from a results database.
std::map<std::string, double> metric_rows(const std::string& db_path) {
  ptq::store::ResultsDb db(db_path, true);
  SQLite::Statement q(db.db(), "SELECT r.setting, r.label, m.metric, m.value FROM metrics m JOIN runs r USING (run_id)");
  std::map<std::string, double> rows;
  while (q.executeStep())
    rows[fmt::format("{} {} {}", q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString())] =
        q.getColumn(3).getDouble();
  return rows;
}

std::string results_section(const std::string& report) { return report.substr(0, report.find("### wall time")); }

}  // namespace

TEST_CASE("a tiny matrix on a local Slurm cluster, one cell preempted and requeued, equals a local run", "[slurm]") {
  for (const char* tool : {"munged", "slurmctld", "slurmd", "sbatch", "scontrol", "scancel"})
    if (!on_path(tool)) ptq::test::skip_test(fmt::format("{} not installed (PTQ_WITH_SLURM=1 scripts/setup)", tool));
  if (::geteuid() != 0) ptq::test::skip_test("starting slurmd needs root");
  ptq::test::TempDir tmp;
  LocalCluster cluster(tmp.file("cluster"));

  const std::string src = ptq::test::source_dir() + "/experiments";
  const nlohmann::json spec = {
      {"name", "slurm-tiny"},
      {"models", {{{"id", "tiny-llama"}, {"path", src + "/models/tiny-llama"}}}},
      {"fp_baseline", true},
      {"methods", {{{"name", "rtn"}, {"settings", {"W4A16", "W8A8"}}},
                   {{"name", "omniquant"}, {"settings", {"W4A16"}}, {"config", {{"epochs", 20}}}}}},
      {"calibration", {{"dataset", "wikitext2"}, {"data", src + "/data/tiny/wikitext2"}, {"n", 4}, {"seqlen", 128}}},
      {"evaluators", {{"data_dir", src + "/data/tiny"}, {"seqlen", 256},
                      {"tasks", {"wikitext2", {{"task", "piqa"}, {"limit", 50}}}}}},
      {"runtime", {{"device", "cpu"}, {"threads", 1}}},
      {"papers", {src + "/papers/omniquant.json"}}};
  const std::string spec_path = tmp.file("slurm-tiny.json");
  ptq::test::write_text(spec_path, spec.dump(2));
  const std::string results = tmp.file("slurm-results");

  const auto sub = run_ptqbench({"slurm", spec_path, "--results", results, "--no-cache", "--cpus-per-task", "1",
                                 "--max-parallel", "2"});
  INFO(sub.err);
  REQUIRE(sub.exit_code == 0);
  CHECK(sub.err.find("4 cells, 0 already DONE, 4 to submit in 1 array job") != std::string::npos);
  const std::string job_dir = results + "/slurm/slurm-tiny";
  const auto submission = nlohmann::json::parse(read_text(job_dir + "/submissions.jsonl"));
  const std::string array = submission.at("arrays").at(0).at("job").get<std::string>();
  const std::string ingest = submission.at("ingest").get<std::string>();
  CHECK(sub.out == ingest + "\n");
  CHECK(submission.at("arrays").at(0).at("indices") == "0-3");
  // Submitting again while those jobs are queued is refused (they would compete for the same cells).
  const auto twice = run_ptqbench({"slurm", spec_path, "--results", results, "--no-cache"});
  CHECK(twice.exit_code == 2);
  CHECK(twice.err.find("still queued or running") != std::string::npos);
  const std::string script = read_text(job_dir + "/cells.sbatch");
  CHECK(script.find("#SBATCH --array=0-3%2\n") != std::string::npos);
  CHECK(script.find("#SBATCH --requeue\n") != std::string::npos);

  // Cell 3 (OmniQuant) is preempted once its first block is saved: its batch script gets SIGUSR1.
  std::string omni_run_id;
  for (const auto& entry : fs::directory_iterator(job_dir))
    if (entry.path().filename().string().rfind("plan_", 0) == 0) {
      std::ifstream plan(entry.path());
      std::string line;
      for (int i = 0; i <= 3 && std::getline(plan, line); ++i) omni_run_id = nlohmann::json::parse(line).at("run_id");
    }
  REQUIRE(omni_run_id.size() == 16);
  const std::string work = results + "/runs/" + omni_run_id + "/work/omniquant";
  const std::string task = array + "_3", log = job_dir + "/logs/" + task + ".out";
  REQUIRE(wait_for(180, [&] { return fs::exists(work + "/block_0.safetensors"); }));
  INFO(cluster.logs());
  REQUIRE(shell("scancel --signal=USR1 --batch " + task).rc == 0);
  REQUIRE(wait_for(60, [&] { return file_text(log).find("requeueing " + task) != std::string::npos; }));
  const std::string stopped_log = file_text(log);
  CHECK(stopped_log.find("stopped on SIGUSR1; state saved to") != std::string::npos);
  bool partial_saved = false;
  for (const auto& f : fs::directory_iterator(work)) partial_saved |= f.path().filename().string().rfind("partial_block_", 0) == 0;
  CHECK(partial_saved);
  // Slurm holds a requeued job for cred_expire seconds (20 on this cluster, see local_cluster), then it
  // starts again by itself. The states seen go into the message if it never restarts.
  std::string states;
  const bool restarted = wait_for(200, [&] {
    if (states.size() < 2000) states += job_state(task) + " ";
    return file_text(log).find("restart 1") != std::string::npos;
  });
  INFO("states: " << states << "\n" << shell("scontrol show job " + task + " | grep -E 'JobState|Time'").out << file_text(log));
  REQUIRE(restarted);
  REQUIRE(wait_for(240, [&] {
    const std::string s = job_state(ingest);
    return s == "COMPLETED" || s == "FAILED" || s == "CANCELLED" || s == "TIMEOUT";
  }));
  INFO(file_text(log) << shell("cat " + job_dir + "/logs/*").out);
  REQUIRE(job_state(ingest) == "COMPLETED");
  CHECK(file_text(log).find("resuming at epoch") != std::string::npos);
  const auto result = nlohmann::json::parse(read_text(results + "/runs/" + omni_run_id + "/result.json"));
  CHECK(result.at("provenance").at("scheduler").at("SLURM_ARRAY_JOB_ID") == array);

  // The same spec run locally gives the same numbers and the same table.
  const std::string local = tmp.file("local-results");
  const auto loc = run_ptqbench({"run", spec_path, "--results", local, "--no-cache"});
  INFO(loc.err);
  REQUIRE(loc.exit_code == 0);
  const auto slurm_rows = metric_rows(results + "/ptqbench.db"), local_rows = metric_rows(local + "/ptqbench.db");
  CHECK(slurm_rows.size() == 4 * 5);  // per cell: wikitext2_ppl, piqa, piqa_acc, piqa_acc_norm, zeroshot_avg
  CHECK(slurm_rows == local_rows);
  const std::string report = read_text(job_dir + "/report.md");
  CHECK(results_section(report) == results_section(loc.out));
  CHECK(report.find("OmniQuant") != std::string::npos);

  // Submitting again finds nothing to do.
  const auto again = run_ptqbench({"slurm", spec_path, "--results", results, "--no-cache"});
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("all 4 cells are DONE; nothing to submit") != std::string::npos);
}
