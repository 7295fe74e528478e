#include "run/matrix_runner.h"

#include "run/cell_runner.h"
#include "util/errors.h"
#include "util/text.h"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>

extern char** environ;

namespace ptq::run {

namespace {

std::string self_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find the ptqbench executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

// Runs argv, waits, returns the exit status (128 + signal when killed).
int spawn_and_wait(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot start {}: error {}", args[0], rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

std::string describe_cell(const nlohmann::json& cell) {
  std::string s = fmt::format("{} {} {}", cell.at("label").get<std::string>(), cell.at("setting").get<std::string>(),
                              cell.at("model").at("id").get<std::string>());
  if (cell.at("calibration").is_object()) s += fmt::format(" seed {}", cell.at("calibration").at("seed").get<int64_t>());
  return s;
}

std::vector<int64_t> parse_index_list(const std::string& text, int64_t n) {
  std::vector<int64_t> out;
  if (text == "all") {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  std::set<int64_t> seen;
  const auto bad = [&](const std::string& why) -> InputError {
    return InputError(fmt::format("--index {}: {} (expected e.g. 3, 0,2,5-7 or all; the plan has cells 0-{})", text, why, n - 1));
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty()) throw bad("empty entry");
    int64_t a = 0, b = 0;
    try {
      size_t used = 0;
      const size_t dash = part.find('-');
      a = std::stoll(part.substr(0, dash), &used);
      if (used != (dash == std::string::npos ? part.size() : dash)) throw bad("not a number: " + part);
      b = dash == std::string::npos ? a : std::stoll(part.substr(dash + 1), &used);
      if (dash != std::string::npos && used != part.size() - dash - 1) throw bad("not a range: " + part);
    } catch (const std::logic_error&) {
      throw bad("not a number: " + part);
    }
    if (a < 0 || b >= n || a > b) throw bad(fmt::format("{} is out of range", part));
    for (int64_t i = a; i <= b; ++i)
      if (seen.insert(i).second) out.push_back(i);
  }
  return out;
}

MatrixSummary run_matrix(const std::vector<nlohmann::json>& cells, const std::vector<int64_t>& indices,
                         const MatrixOptions& options) {
  using Clock = std::chrono::steady_clock;
  const std::string exe = self_executable();
  MatrixSummary summary;
  std::vector<int64_t> todo;
  for (int64_t i : indices) {
    const auto& cell = cells.at(static_cast<size_t>(i));
    if (!options.force && cell_state(options.results_dir, cell.at("run_id").get<std::string>()) == CellState::kDone) {
      ++summary.skipped;
    } else {
      todo.push_back(i);
    }
  }
  fmt::print(stderr, "ptqbench: {} cells: {} already done, {} to run\n", indices.size(), summary.skipped, todo.size());
  const auto start = Clock::now();
  for (size_t k = 0; k < todo.size(); ++k) {
    const auto& cell = cells.at(static_cast<size_t>(todo[k]));
    const std::string run_id = cell.at("run_id").get<std::string>();
    fmt::print(stderr, "[cell {}/{}] {} (index {}, run {})\n", k + 1, todo.size(), describe_cell(cell), todo[k], run_id);
    const auto t0 = Clock::now();
    std::vector<std::string> args = {exe, "run", "--plan", options.plan_path, "--index", std::to_string(todo[k]),
                                     "--results", options.results_dir};
    args.insert(args.end(), options.child_args.begin(), options.child_args.end());
    if (options.force) args.push_back("--force");
    const int rc = spawn_and_wait(args);
    const double cell_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double eta = elapsed / static_cast<double>(k + 1) * static_cast<double>(todo.size() - k - 1);
    const bool ok = cell_state(options.results_dir, run_id) == CellState::kDone;
    const bool busy = !ok && rc == kCellBusyExit;
    if (ok) {
      ++summary.ok;
    } else if (busy) {
      ++summary.busy;
    } else {
      ++summary.failed;
      summary.failed_run_ids.push_back(run_id);
    }
    fmt::print(stderr, "[cell {}/{}] {}: {} in {} | elapsed {}, ETA {}\n", k + 1, todo.size(), describe_cell(cell),
               ok ? "ok" : busy ? "skipped, another worker is running it" : fmt::format("FAILED (exit {}; see {}/result.json)", rc, cell_dir(options.results_dir, run_id)),
               human_duration(cell_s), human_duration(elapsed), human_duration(eta));
  }
  return summary;
}

}  // namespace ptq::run
