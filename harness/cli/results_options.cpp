#include "harness/cli/results_options.h"

#include "harness/data/token_cache.h"

#include <CLI/CLI.hpp>

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

}  // namespace ptq::cli
