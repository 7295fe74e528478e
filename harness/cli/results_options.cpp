#include "harness/cli/results_options.h"

#include "harness/data/token_cache.h"
#include "harness/run/paper_protocol.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
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
