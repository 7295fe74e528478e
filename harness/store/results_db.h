// The results database (SQLite, via SQLiteCpp): runs, their metrics and the numbers papers report.
// Only `ptqbench ingest` writes it, from the result files workers leave under results/runs/; every write
// is one transaction, so an ingest killed half-way leaves the previous state intact. The schema has a
// version table and ordered migrations; a database from a newer ptqbench is refused, not modified.
// Never put the database on a network filesystem (SQLite locking); results/runs/ may live there.
#pragma once

#include <exception>
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
  // `read_only` opens an existing database without migrating (InputError when absent or outdated) and
  // creates no file, so that report/export/regress work in a results directory they cannot write.
  // Another process's lock is waited for PTQBENCH_DB_TIMEOUT_S seconds (default 30), then
  // EnvironmentError "<db> is locked by another process (waited N s); ..." (exit 6). A read-only
  // database or directory opened for writing, and a full disk, are EnvironmentErrors too; a file that
  // is not a SQLite database or has no ptqbench schema is an InputError (exit 2).
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
  // Rethrows a SQLite::Exception `e` of this database as what it means to the user (the classes above);
  // `input_fallback`: other SQLite errors mean the file is not a ptqbench database (else rethrown as they are).
  // Call only from the handler that caught `e`.
  [[noreturn]] void raise(const std::exception& e, bool input_fallback) const;

 private:
  void migrate();
  IngestStats ingest_in_transaction(const std::string& results_dir);
  std::string path_;
  int timeout_s_ = 30;
  std::unique_ptr<SQLite::Database> db_;
};

}  // namespace ptq::store
