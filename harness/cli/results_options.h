// The options every experiment command shares (run, ingest, slurm): where results, the database and
// the token cache live, and how workers are told about the cache.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace ptq::cli {

struct CommonOptions {
  std::string results_dir = "results";
  std::string db;  // "" = <results>/ptqbench.db
  std::string cache_dir;
  bool no_cache = false;

  CommonOptions();  // cache_dir = the token cache's default
  std::string db_path() const;
  std::string cache() const { return no_cache ? "" : cache_dir; }
  std::vector<std::string> child_args() const;  // "--cache-dir X" or "--no-cache" for a worker
};

void add_common(CLI::App* cmd, CommonOptions& o, bool with_cache);

}  // namespace ptq::cli
