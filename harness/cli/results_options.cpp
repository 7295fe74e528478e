#include "harness/cli/results_options.h"

#include "harness/data/token_cache.h"
#include "harness/io/files.h"
#include "harness/run/paper_protocol.h"
#include "harness/util/errors.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ptq::cli {

CommonOptions::CommonOptions() : cache_dir(eval::TokenCache::default_dir()) {}

std::string CommonOptions::db_path() const {
  return db.empty() ? (std::filesystem::path(results_dir) / "ptqbench.db").string() : db;
}

std::vector<std::string> CommonOptions::child_args() const {
  return no_cache ? std::vector<std::string>{"--no-cache"} : std::vector<std::string>{"--cache-dir", cache_dir};
}

void add_common(CLI::App* cmd, CommonOptions& o, bool with_cache) {
  cmd->add_option("--results", o.results_dir, "Results directory (runs/, plans/, ptqbench.db)")->capture_default_str();
  cmd->add_option("--db", o.db, "SQLite database (default: RESULTS/ptqbench.db; keep it off network filesystems)");
  if (with_cache) {
    cmd->add_option("--cache-dir", o.cache_dir, "Token stream cache")->capture_default_str();
    cmd->add_flag("--no-cache", o.no_cache, "Tokenize again, do not read or write the cache");
  }
}

void require_writable_results(const CommonOptions& o, const std::string& command) {
  const auto check = [&](const std::string& path, const char* what) {
    if (::access(path.c_str(), W_OK) == 0) return;
    const int err = errno;
    throw EnvironmentError(fmt::format("{}: {} is read-only for this process ({}); `ptqbench {}` writes results there "
                                       "(report, ls and export only read it): use a writable --results/--db",
                                       path, what, std::strerror(err), command));
  };
  // Checked without creating anything: a command refused afterwards (a malformed spec) must leave no
  // directory behind. Where the results directory does not exist yet, its nearest existing ancestor must
  // be writable (the directory is created when the first result is written).
  std::error_code ec;
  const std::filesystem::path results = std::filesystem::absolute(o.results_dir, ec);
  std::filesystem::path existing = results;
  while (!std::filesystem::exists(existing, ec) && existing.has_parent_path() && existing != existing.parent_path())
    existing = existing.parent_path();
  check(existing.string(), existing == results ? "the results directory" : "the directory that would hold the results");
  const std::string db = o.db_path();
  const std::filesystem::path db_dir = std::filesystem::path(db).parent_path();
  if (std::filesystem::exists(db, ec)) check(db, "the results database");
  else if (!db_dir.empty() && std::filesystem::exists(db_dir, ec)) check(db_dir.string(), "the database's directory");
}

void print_plan_notes(const run::ExperimentSpec& spec, const std::vector<run::Cell>& cells) {
  for (size_t i = 0; i < spec.models.size(); ++i) {
    const run::ModelSpec& m = spec.models[i];
    if (m.deferred.empty()) continue;
    const auto n = std::count_if(cells.begin(), cells.end(), [&](const run::Cell& c) { return c.model.id == m.id; });
    fmt::print(stderr,
               "ptqbench: notice: {}: models[{}].path: {}; model {}'s fingerprint is deferred and the run ids of its {} "
               "cells are provisional (\"run_id_provisional\": true) until `ptqbench run --plan` finds the model\n",
               spec.file, i, m.deferred, m.id, n);
  }
  for (const auto& w : run::protocol_warnings(spec, cells)) fmt::print(stderr, "ptqbench: warning: {}\n", w);
}

}  // namespace ptq::cli
