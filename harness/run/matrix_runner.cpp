#include "harness/run/matrix_runner.h"

#include "harness/util/runtime.h"

#include "harness/run/cell_runner.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string_view>

extern char** environ;

namespace ptq::run {

namespace {

// Starts argv with the parent's environment plus `extra_env` ("NAME=value").
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    bool overridden = false;
    for (const auto& x : extra_env) overridden |= entry.substr(0, entry.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!overridden) envp.push_back(*e);
  }
  for (const auto& x : extra_env) envp.push_back(const_cast<char*>(x.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data());
  if (rc != 0) throw std::runtime_error(fmt::format("cannot start {}: error {}", args[0], rc));
  return pid;
}

// Waits for any child; returns its pid and exit status (128 + signal when killed).
std::pair<pid_t, int> wait_any() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, 0)) < 0) {
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  }
  return {pid, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0)};
}

}  // namespace

std::string self_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find the ptqbench executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

std::string describe_cell(const Cell& cell) { return cell.describe(); }

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

MatrixSummary run_matrix(const std::vector<Cell>& cells, const std::vector<int64_t>& indices,
                         const MatrixOptions& options) {
  using Clock = std::chrono::steady_clock;
  const std::string exe = self_executable();
  MatrixSummary summary;
  std::vector<int64_t> todo;
  for (int64_t i : indices) {
    const auto& cell = cells.at(static_cast<size_t>(i));
    if (!options.force && cell_state(options.results_dir, cell.run_id) == CellState::kDone) {
      ++summary.skipped;
    } else {
      todo.push_back(i);
    }
  }
  const int jobs = std::max(1, options.jobs);
  fmt::print(stderr, "ptqbench: {} cells: {} already done, {} to run{}\n", indices.size(), summary.skipped, todo.size(),
             jobs > 1 ? fmt::format(" ({} at a time)", jobs) : "");
  struct Running {
    size_t k;  // position in todo
    int slot;
    Clock::time_point start;
  };
  std::map<pid_t, Running> running;
  std::vector<bool> slot_busy(static_cast<size_t>(jobs), false);
  const auto start = Clock::now();
  size_t next = 0, finished = 0;
  while (finished < todo.size()) {
    while (next < todo.size() && static_cast<int>(running.size()) < jobs) {
      const auto& cell = cells.at(static_cast<size_t>(todo[next]));
      const int slot = static_cast<int>(std::find(slot_busy.begin(), slot_busy.end(), false) - slot_busy.begin());
      std::vector<std::string> env;
      std::string where;
      if (!options.gpus.empty()) {
        const std::string& gpu = options.gpus[static_cast<size_t>(slot) % options.gpus.size()];
        env.push_back("CUDA_VISIBLE_DEVICES=" + gpu);
        where = ", GPU " + gpu;
      }
      // N cells at a time share the cores: each one's "all cores" (threads 0) becomes its share, instead of
      // N processes each starting a thread per core.
      if (jobs > 1) env.push_back(fmt::format("PTQ_CPUS_PER_CELL={}", std::max(1, available_cpus() / jobs)));
      fmt::print(stderr, "[cell {}/{}] {} (index {}, run {}{})\n", next + 1, todo.size(), describe_cell(cell), todo[next],
                 cell.run_id, where);
      std::vector<std::string> args = {exe, "run", "--plan", options.plan_path, "--index", std::to_string(todo[next]),
                                       "--results", options.results_dir};
      args.insert(args.end(), options.child_args.begin(), options.child_args.end());
      if (options.force) args.push_back("--force");
      running[spawn(args, env)] = {next, slot, Clock::now()};
      slot_busy[static_cast<size_t>(slot)] = true;
      ++next;
    }
    const auto [pid, rc] = wait_any();
    const auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    const Running r = it->second;
    running.erase(it);
    slot_busy[static_cast<size_t>(r.slot)] = false;
    ++finished;
    const auto& cell = cells.at(static_cast<size_t>(todo[r.k]));
    const std::string run_id = cell.run_id;
    const double cell_s = std::chrono::duration<double>(Clock::now() - r.start).count();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double eta = elapsed / static_cast<double>(finished) * static_cast<double>(todo.size() - finished);
    const bool ok = cell_state(options.results_dir, run_id) == CellState::kDone;
    const bool busy = !ok && rc == kCellBusyExit;
    const bool stopped = !ok && rc == kCellStoppedExit;
    if (ok) {
      ++summary.ok;
    } else if (busy) {
      ++summary.busy;
    } else if (stopped) {
      ++summary.stopped;
    } else {
      ++summary.failed;
      summary.failed_run_ids.push_back(run_id);
    }
    fmt::print(stderr, "[cell {}/{}] {}: {} in {} | {}/{} finished, elapsed {}, ETA {}\n", r.k + 1, todo.size(),
               describe_cell(cell),
               ok     ? "ok"
               : busy    ? "skipped, another worker is running it"
               : stopped ? "stopped on a signal, its state is saved (run again to resume)"
                      : fmt::format("FAILED (exit {}; see {}/result.json)", rc, cell_dir(options.results_dir, run_id)),
               human_duration(cell_s), finished, todo.size(), human_duration(elapsed), human_duration(eta));
  }
  return summary;
}

}  // namespace ptq::run
