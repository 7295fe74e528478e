// Exit codes that mean something (issue #29; the table in docs/cli.md, util/exit_codes.h): one real
// command per code, and the environment cases behind code 6 - a database locked by another process, a
// read-only results directory (report, ls, export and regress still work and create nothing; run and
// ingest are refused), `-o` at /dev/null or a FIFO (written in place, never renamed over), text that is
// not UTF-8. Everything here works on hand-made results (tests/support/result_fixtures.h): no model runs;
// each command costs about a second of CLI start-up.
//
// Codes 4 and 5 with a real method: "a cell another worker is running is skipped" (4) and "SIGUSR1 stops a
// worker mid-block" (5, OmniQuant resumed to the same result) in test_experiment_run.cpp. Here 4 comes from
// a cell whose lock this test holds, and 5 from a stop that arrives while the test_fault method waits.
//
// Read-only as root: root ignores file permissions, so when this test runs as root (CI containers) the
// commands that must see a read-only directory run as the unprivileged user 65534 (setpriv), for whom
// chmod a-w is real; the test skips only where neither is possible.
#include "harness/run/plan.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "tests/support/cli_runner.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using ptq::test::FakeRun;
using ptq::test::TempDir;
using ptq::test::run_ptqbench;
namespace fs = std::filesystem;

namespace {

FakeRun rtn_run(double piqa) {
  FakeRun r;
  r.experiment = "golden", r.setting = "W4A16", r.method = "rtn", r.paper_method = "RTN";
  r.metrics = {{"piqa", piqa}, {"wikitext2_ppl", 6.0}};
  r.stderr_value = 0.1;
  return r;
}

// <dir>/results with one finished run, ingested into <dir>/results/ptqbench.db.
std::string finished_results(const TempDir& dir, double piqa = 77.6) {
  const std::string results = dir.file("results");
  ptq::test::write_fake_run(results, rtn_run(piqa));
  ptq::store::ResultsDb db(results + "/ptqbench.db");
  db.ingest(results);
  return results;
}

// Every path under `root` with its size: what "nothing was created or changed" compares.
std::set<std::string> snapshot(const std::string& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    out.insert(e.path().string() + (e.is_regular_file() ? " " + std::to_string(e.file_size()) : "/"));
  return out;
}

// Shell words that run the CLI as a user for whom file permissions hold ("" when this process is one).
std::string unprivileged() {
  if (::geteuid() != 0) return "";
  if (std::system("command -v setpriv >/dev/null 2>&1") != 0)
    ptq::test::skip_test("running as root without setpriv: cannot make a directory read-only for the CLI");
  const std::string as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups";
  // The build tree must be reachable by that user (a checkout under /root is not).
  if (run_ptqbench({"--version"}, as_user).exit_code != 0)
    ptq::test::skip_test("user 65534 cannot run " + ptq::test::ptqbench_path() + " (its directory is private to root)");
  return as_user;
}

// Reads a FIFO on a thread; finish() returns what came through, unblocking the reader if nobody wrote.
class FifoReader {
 public:
  explicit FifoReader(std::string path) : path_(std::move(path)) {
    REQUIRE(::mkfifo(path_.c_str(), 0666) == 0);
    thread_ = std::thread([this] {
      const int fd = ::open(path_.c_str(), O_RDONLY);
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text_.append(buf, static_cast<size_t>(n));
      ::close(fd);
    });
  }
  std::string finish() {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);  // a writer that never came: EOF for the reader
    if (fd >= 0) ::close(fd);
    thread_.join();
    return text_;
  }

 private:
  std::string path_, text_;
  std::thread thread_;
};

}  // namespace

TEST_CASE("exit 0: a command that did what was asked", "[integration][exit_codes]") {
  const auto r = run_ptqbench({"ls", "settings"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
}

TEST_CASE("exit 1: an internal error (the PTQBENCH_DEBUG_INTERNAL_ERROR hook)", "[integration][exit_codes]") {
  // No input reaches a genuine internal error on purpose (each one found is fixed into 2 or 6), so a
  // documented debugging hook throws a std::logic_error before the command runs.
  const auto r = run_ptqbench({"ls"}, "PTQBENCH_DEBUG_INTERNAL_ERROR=1");
  CHECK(r.exit_code == 1);
  CHECK(r.err == "ptqbench: internal error: PTQBENCH_DEBUG_INTERNAL_ERROR=1: a deliberate internal error\n");
  CHECK(r.out.empty());
}

TEST_CASE("exit 2: bad input, and a file that is not a results database", "[integration][exit_codes]") {
  TempDir dir;
  ptq::test::write_text(dir.file("notes.db"), "these are notes, not a SQLite database\n");
  const auto r = run_ptqbench({"report", "--db", dir.file("notes.db")});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, StartsWith("ptqbench: error: " + dir.file("notes.db") + ": not a ptqbench results database"));
  CHECK(run_ptqbench({"ls", "methodz"}).exit_code == 2);
}

TEST_CASE("exit 3: regress finds a regression", "[integration][exit_codes]") {
  TempDir dir;
  const std::string results = finished_results(dir, 77.6);
  const std::string db = results + "/ptqbench.db", baseline = dir.file("baseline.json");
  REQUIRE(run_ptqbench({"regress", "--baseline", baseline, "--db", db, "--update", "--experiment", "golden"}).exit_code == 0);
  CHECK(run_ptqbench({"regress", "--baseline", baseline, "--db", db}).exit_code == 0);
  finished_results(dir, 70.0);  // the same cell, 7.6 points worse (76 standard errors)
  const auto r = run_ptqbench({"regress", "--baseline", baseline, "--db", db});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.out, Contains("1 regressed or missing"));
}

// A plan of one cell of the embedded tiny model: `method` at W16A16 with `config`, evaluated on its WikiText-2.
// Returns the cell's run id; the plan is <dir>/plan.jsonl.
std::string plan_one_cell(const TempDir& dir, const std::string& method, const nlohmann::json& config) {
  const std::string src = ptq::test::source_dir();
  const nlohmann::json spec = {
      {"name", "one"},
      {"models", {{{"id", "tiny"}, {"path", src + "/experiments/models/tiny-llama"}}}},
      {"fp_baseline", false},
      {"methods", {{{"name", method}, {"config", config}, {"settings", {"W16A16"}}}}},
      {"evaluators", {{"seqlen", 32}, {"tasks", {{{"task", "wikitext2"}, {"data", src + "/experiments/data/tiny/wikitext2"}}}}}},
      {"runtime", {{"threads", 1}}}};
  ptq::test::write_text(dir.file("one.json"), spec.dump());
  // PTQBENCH_TEST_METHODS=1 registers test_fault (methods/register_all.cpp).
  REQUIRE(run_ptqbench({"plan", dir.file("one.json"), "-o", dir.file("plan.jsonl")}, "PTQBENCH_TEST_METHODS=1").exit_code == 0);
  return ptq::run::read_plan(dir.file("plan.jsonl")).at(0).run_id;
}

TEST_CASE("exit 4: the cell is held by another worker", "[integration][exit_codes]") {
  TempDir dir;
  const std::string run_id = plan_one_cell(dir, "rtn", nlohmann::json::object());
  const std::string cell_dir = dir.file("results/runs/" + run_id);
  fs::create_directories(cell_dir);
  // What a running worker holds (run/cell_runner.cpp): an exclusive flock on the cell's lock file.
  const int fd = ::open((cell_dir + "/lock").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  const auto r = run_ptqbench({"run", "--plan", dir.file("plan.jsonl"), "--index", "0", "--results",
                               dir.file("results"), "--no-cache"});
  ::close(fd);
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Contains("another worker is running it"));
}

TEST_CASE("exit 5: a worker stopped by SIGUSR1 ends with its state saved, to be requeued", "[integration][exit_codes]") {
  TempDir dir;
  ptq::test::write_text(dir.file("block"), "");
  const std::string run_id = plan_one_cell(dir, "test_fault", {{"block_while_exists", dir.file("block")}});
  const std::string log = dir.file("log");
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<std::string> args = {ptq::test::ptqbench_path(), "run", "--plan", dir.file("plan.jsonl"), "--index", "0",
                                     "--results", dir.file("results"), "--no-cache"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setenv("GOMP_SPINCOUNT", "0", 1);
    ::setenv("PTQ_PROGRESS", "plain", 1);
    ::setenv("PTQBENCH_TEST_METHODS", "1", 1);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  // started.json is written after the stop handlers are installed; the method then waits for `block`.
  const std::string started = dir.file("results/runs/" + run_id + "/started.json");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(started) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(fs::exists(started));
  ::kill(pid, SIGUSR1);  // what Slurm's --signal=B:USR1@N delivers
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  fs::remove(dir.file("block"));  // the method returns; the worker sees the stop before evaluating
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::string text = ptq::test::read_text(log);
  INFO(text);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 5);
  CHECK_THAT(text, Contains("stopped; its state is in"));
}

TEST_CASE("exit 6: a database locked by another process is named as such, not as 'not a database'",
          "[integration][exit_codes]") {
  TempDir dir;
  const std::string results = finished_results(dir);
  const std::string db = results + "/ptqbench.db";
  {
    SQLite::Database writer(db, SQLite::OPEN_READWRITE);
    writer.exec("BEGIN EXCLUSIVE");  // what an ingest's commit holds
    const auto r = run_ptqbench({"report", "--db", db}, "PTQBENCH_DB_TIMEOUT_S=1");
    CHECK(r.exit_code == 6);
    CHECK(r.err == "ptqbench: error: " + db + " is locked by another process (waited 1 s); another `ptqbench ingest` "
                   "or `run` is writing it: run again when it has finished (PTQBENCH_DB_TIMEOUT_S waits longer)\n");
    const auto i = run_ptqbench({"ingest", "--results", results}, "PTQBENCH_DB_TIMEOUT_S=1");
    CHECK(i.exit_code == 6);
    CHECK_THAT(i.err, Contains("is locked by another process (waited 1 s)"));
    writer.exec("ROLLBACK");
  }
  const auto r = run_ptqbench({"report", "--db", db});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("W4A16"));
}

TEST_CASE("exit 6: a read-only results directory serves report, ls, export and regress and refuses run and ingest",
          "[integration][exit_codes][read_only]") {
  const std::string as_user = unprivileged();
  for (const bool wal : {false, true}) {
    DYNAMIC_SECTION((wal ? "a WAL database" : "a rollback-journal database")) {
      TempDir dir;
      const std::string results = finished_results(dir);
      const std::string db = results + "/ptqbench.db", baseline = dir.file("baseline.json");
      REQUIRE(run_ptqbench({"regress", "--baseline", baseline, "--db", db, "--update", "--experiment", "golden"}).exit_code == 0);
      // A WAL database in a directory the reader cannot write has no -shm to open: opened immutable.
      if (wal) SQLite::Database(db, SQLite::OPEN_READWRITE).exec("PRAGMA journal_mode=WAL");
      const std::string out = dir.file("out");
      fs::create_directories(out);
      fs::permissions(out, fs::perms::all);  // the outputs go elsewhere, somewhere the CLI's user may write
      std::system(("chmod -R a-w " + results).c_str());
      const auto before = snapshot(results);

      const auto report = run_ptqbench({"report", "--db", db, "-o", out + "/report.md"}, as_user);
      INFO(report.err);
      CHECK(report.exit_code == 0);
      CHECK_THAT(ptq::test::read_text(out + "/report.md"), Contains("W4A16"));
      CHECK(run_ptqbench({"ls"}, as_user).exit_code == 0);
      const auto exported = run_ptqbench({"export", "--results", results, "--format", "csv", "-o", out + "/r.csv"}, as_user);
      INFO(exported.err);
      CHECK(exported.exit_code == 0);
      const auto regress = run_ptqbench({"regress", "--baseline", baseline, "--db", db}, as_user);
      CHECK(regress.exit_code == 0);

      const auto run = run_ptqbench({"run", ptq::test::source_dir() + "/experiments/quickstart.json", "--results", results,
                                     "--no-cache"}, as_user);
      CHECK(run.exit_code == 6);
      CHECK(run.err == "ptqbench: error: " + results + ": the results directory is read-only for this process "
                       "(Permission denied); `ptqbench run` writes results there (report, ls and export only read it): "
                       "use a writable --results/--db\n");
      const auto ingest = run_ptqbench({"ingest", "--results", results}, as_user);
      CHECK(ingest.exit_code == 6);
      CHECK_THAT(ingest.err, Contains("read-only"));
      CHECK(snapshot(results) == before);  // no -journal, -wal, -shm, plan or lock file appeared
      std::system(("chmod -R u+w " + results).c_str());
    }
  }
}

TEST_CASE("report and export -o at /dev/null or a FIFO write in place and never rename over it", "[integration][exit_codes][output]") {
  TempDir dir;
  const std::string results = finished_results(dir);
  const std::string db = results + "/ptqbench.db";
  const auto null = run_ptqbench({"report", "--db", db, "-o", "/dev/null"});
  CHECK(null.exit_code == 0);
  struct stat st {};
  REQUIRE(::lstat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));  // still the device (a rename as root would have replaced it with a file)

  const std::string expected = run_ptqbench({"report", "--db", db}).out;
  FifoReader report_reader(dir.file("report.fifo"));
  const auto r = run_ptqbench({"report", "--db", db, "-o", dir.file("report.fifo")});
  CHECK(report_reader.finish() == expected);
  CHECK(r.exit_code == 0);

  FifoReader csv_reader(dir.file("table.csv"));
  const auto e = run_ptqbench({"export", "--results", results, "--format", "csv", "-o", dir.file("table.csv")});
  const std::string csv = csv_reader.finish();
  CHECK(e.exit_code == 0);
  CHECK_THAT(csv, Contains("piqa") && Contains("W4A16"));
  CHECK(fs::is_fifo(dir.file("table.csv")));
}

TEST_CASE("text that is not UTF-8 is refused with the byte offset (tokenize)", "[integration][exit_codes][utf8]") {
  TempDir dir;
  const std::string model = ptq::test::source_dir() + "/experiments/models/tiny-llama";
  ptq::test::write_text(dir.file("latin1.txt"), "un caf\xe9 noir");
  const auto r = run_ptqbench({"tokenize", "--model", model, "--file", dir.file("latin1.txt")});
  CHECK(r.exit_code == 2);
  CHECK(r.err == "ptqbench: error: " + dir.file("latin1.txt") + ": not valid UTF-8 at byte offset 6 (sequence cut "
                 "short: bytes E9 20 6E 6F); convert it to UTF-8\n");
  ptq::test::write_text(dir.file("utf16.txt"), std::string("\xff\xfeh\0i\0", 6));
  const auto u = run_ptqbench({"tokenize", "--model", model, "--file", dir.file("utf16.txt")});
  CHECK(u.exit_code == 2);
  CHECK_THAT(u.err, Contains("utf16.txt: looks like UTF-16") && Contains("convert it to UTF-8"));
  const auto t = run_ptqbench({"tokenize", "--model", model, "--text", "caf\xe9"});
  CHECK(t.exit_code == 2);
  CHECK_THAT(t.err, Contains("--text: not valid UTF-8 at byte offset 3"));
}

TEST_CASE("a full disk during ingest is 'disk full writing <db>' and leaves the database as it was",
          "[integration][exit_codes]") {
  TempDir dir;
  const std::string results = finished_results(dir);  // one run in the database
  for (int i = 0; i < 20; ++i) {
    FakeRun r = rtn_run(70.0 + i);
    r.label = "rtn-" + std::to_string(i);  // 20 more cells (distinct run ids)
    ptq::test::write_fake_run(results, r);
  }
  const std::string path = results + "/ptqbench.db";
  ptq::store::ResultsDb db(path);
  // SQLite's own page limit gives the SQLITE_FULL a full disk gives, at the first page the ingest needs.
  const int pages = db.db().execAndGet("PRAGMA page_count").getInt();
  db.db().exec("PRAGMA max_page_count = " + std::to_string(pages));
  CHECK_THROWS_MATCHES(db.ingest(results), ptq::EnvironmentError,
                       Catch::Matchers::Message("disk full writing " + path + " (database or disk is full)"));
  CHECK(db.db().execAndGet("SELECT COUNT(*) FROM runs").getInt() == 1);  // the transaction rolled back
}
