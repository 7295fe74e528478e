// The options every experiment command shares (run, ingest, slurm): where results, the database and
// the token cache live, and how workers are told about the cache.
#pragma once

#include "harness/run/cell.h"
#include "harness/run/experiment_spec.h"

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

// For the commands that write results (`run`, `ingest`): the results directory (created if absent) and the
// database must be writable by this process, checked before any work. EnvironmentError (exit 6)
// "<dir>: read-only ...; `ptqbench <command>` writes ..." otherwise (report, ls and export only read).
void require_writable_results(const CommonOptions& o, const std::string& command);

// What `plan`, `run` and `slurm` say about a fresh plan on stderr: models that are not here (fingerprint
// deferred: their cells' run ids are provisional until `run` sees the model) and rows compared with a
// paper number whose record states a protocol they do not follow (run/paper_protocol.h).
void print_plan_notes(const run::ExperimentSpec& spec, const std::vector<run::Cell>& cells);

}  // namespace ptq::cli
