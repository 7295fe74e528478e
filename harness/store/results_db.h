// The results database (SQLite, via SQLiteCpp): runs, their metrics and the numbers papers report.
// Only `ptqbench ingest` writes it, from the result files workers leave under results/runs/; every write
// is one transaction, so an ingest killed half-way leaves the previous state intact. The schema has a
// version table and ordered migrations; a database from a newer ptqbench is refused, not modified.
// Never put the database on a network filesystem (SQLite locking); results/runs/ may live there.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace ptq::store {

constexpr int kSchemaVersion = 3;

struct IngestStats {
  int runs = 0, ok = 0, failed = 0, metrics = 0;
  std::vector<std::string> paper_files;  // imported along the way (named by the ingested cells)
};

class ResultsDb {
 public:
  // Opens (creating it and its directory if needed) and migrates to kSchemaVersion.
  // `read_only` opens an existing database without migrating (InputError when absent or outdated).
  explicit ResultsDb(const std::string& path, bool read_only = false);
  ~ResultsDb();
  ResultsDb(const ResultsDb&) = delete;
  ResultsDb& operator=(const ResultsDb&) = delete;

  int schema_version() const;
  // Upserts every <results>/runs/*/result.json (one transaction). Paper-number files the cells name are
  // imported too. InputError naming the file for a malformed result (nothing is written then).
  IngestStats ingest(const std::string& results_dir);
  // Replaces the rows of each file (keyed by its file name) in one transaction. Returns rows imported.
  int import_papers(const std::vector<std::string>& files);

  SQLite::Database& db() { return *db_; }
  const std::string& path() const { return path_; }

 private:
  void migrate();
  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace ptq::store
