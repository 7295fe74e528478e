#include "harness/store/results_db.h"

#include "evaluators/sample_log.h"
#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/store/sample_log.h"
#include "harness/util/errors.h"
#include "harness/util/numerics.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;

namespace ptq::store {

namespace {

// migrations[k] takes the schema from version k to k + 1. Never edit a shipped step: append a new one.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> steps = {
      R"sql(
CREATE TABLE runs (
  run_id TEXT PRIMARY KEY,
  experiment TEXT NOT NULL,
  cell_index INTEGER,
  model_id TEXT NOT NULL,
  paper_model TEXT NOT NULL,
  setting TEXT NOT NULL,
  method TEXT NOT NULL,
  label TEXT NOT NULL,
  paper_method TEXT NOT NULL,
  config_json TEXT NOT NULL,
  calib_seed INTEGER,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
  error TEXT,
  device TEXT,
  dtype TEXT,
  harness_version TEXT,
  git_sha TEXT,
  host TEXT,
  data_s REAL, load_s REAL, quantize_s REAL, eval_s REAL, total_s REAL,
  peak_rss_gb REAL, peak_gpu_gb REAL,
  started TEXT, finished TEXT,
  result_json TEXT NOT NULL
);
CREATE INDEX runs_by_experiment ON runs(experiment, model_id, setting, label);
CREATE TABLE metrics (
  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  metric TEXT NOT NULL,
  value REAL,
  stderr REAL,
  n INTEGER,
  PRIMARY KEY (run_id, metric)
);
CREATE TABLE paper_numbers (
  file TEXT NOT NULL,
  paper TEXT NOT NULL,
  tbl TEXT,
  model TEXT NOT NULL,
  setting TEXT NOT NULL,
  group_size INTEGER,
  method TEXT NOT NULL,
  metric TEXT NOT NULL,
  value REAL NOT NULL,
  source TEXT,
  verified INTEGER NOT NULL,
  note TEXT
);
CREATE INDEX paper_numbers_by_key ON paper_numbers(model, setting, method, metric);
)sql",
      // 2: what decided the digits (util/numerics.h), and per-example values for paired regression tests.
      R"sql(
ALTER TABLE runs ADD COLUMN numerics TEXT;
CREATE TABLE metric_samples (
  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  metric TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('binary', 'nll')),
  samples_json TEXT NOT NULL,
  PRIMARY KEY (run_id, metric)
);
)sql",
      // 3: a number the reporting paper got from its own re-implementation of the method (not from the
      // method's paper) is marked as such in reports.
      R"sql(
ALTER TABLE paper_numbers ADD COLUMN reimplementation INTEGER NOT NULL DEFAULT 0;
)sql",
  };
  return steps;
}

template <typename T>
void bind_opt(SQLite::Statement& q, int i, const nlohmann::json& v) {
  if (v.is_null()) q.bind(i);
  else q.bind(i, v.get<T>());
}

const nlohmann::json& at_or_null(const nlohmann::json& j, std::initializer_list<const char*> path) {
  static const nlohmann::json null;
  const nlohmann::json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return null;
    cur = &(*cur)[k];
  }
  return *cur;
}

// The per-example values of every metric whose task left a sample log (store/sample_log.h) beside the
// result. A log that is gone is a notice (the metric falls back to stderr-based checks); a log whose
// hash does not match the result is an error: it belongs to another run.
void insert_metric_samples(SQLite::Database& db, const nlohmann::json& r, const fs::path& run_dir) {
  SQLite::Statement del(db, "DELETE FROM metric_samples WHERE run_id = ?");
  del.bind(1, r.at("run_id").get<std::string>());
  del.exec();
  if (r.at("status") != "ok" || !r.contains("details")) return;
  SQLite::Statement q(db, "INSERT INTO metric_samples (run_id, metric, kind, samples_json) VALUES (?,?,?,?)");
  for (const auto& [task, d] : r.at("details").items()) {
    if (!d.is_object() || !d.contains("samples")) continue;
    const std::string path = (run_dir / "samples" / d.at("samples").at("file").get<std::string>()).string();
    if (!io::file_exists(path)) {
      fmt::print(stderr, "ptqbench: notice: {} is gone: {} is compared without per-example samples\n", path, task);
      continue;
    }
    const auto records = eval::read_sample_log(path, d.at("samples").at("sha256").get<std::string>());
    for (const auto& [metric, samples] : metric_samples_of_task(task, d.value("reported_metric", ""), records)) {
      q.bind(1, r.at("run_id").get<std::string>());
      q.bind(2, metric);
      q.bind(3, samples.kind);
      q.bind(4, samples.to_json().dump());
      q.exec();
      q.reset();
    }
  }
}

int insert_run(SQLite::Database& db, const nlohmann::json& r, const std::string& file) {
  const auto& cell = r.at("cell");
  SQLite::Statement q(db, R"sql(
INSERT OR REPLACE INTO runs (run_id, experiment, cell_index, model_id, paper_model, setting, method, label, paper_method,
  config_json, calib_seed, status, error, device, dtype, harness_version, git_sha, host, data_s, load_s, quantize_s,
  eval_s, total_s, peak_rss_gb, peak_gpu_gb, started, finished, result_json, numerics)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?))sql");
  const std::string run_id = r.at("run_id").get<std::string>();
  if (cell.at("run_id") != run_id) throw InputError(fmt::format("{}: run_id does not match its cell", file));
  double eval_s = 0;
  for (const auto& [task, s] : at_or_null(r, {"timing", "eval_s"}).items()) eval_s += s.get<double>();
  int i = 1;
  q.bind(i++, run_id);
  q.bind(i++, r.at("experiment").get<std::string>());
  q.bind(i++, cell.at("index").get<int64_t>());
  q.bind(i++, cell.at("model").at("id").get<std::string>());
  q.bind(i++, cell.at("model").at("paper_model").get<std::string>());
  q.bind(i++, cell.at("setting").get<std::string>());
  q.bind(i++, cell.at("method").get<std::string>());
  q.bind(i++, cell.at("label").get<std::string>());
  q.bind(i++, cell.at("paper_method").get<std::string>());
  q.bind(i++, cell.at("config").dump());
  bind_opt<int64_t>(q, i++, at_or_null(cell, {"calibration", "seed"}));
  q.bind(i++, r.at("status").get<std::string>());
  bind_opt<std::string>(q, i++, r.at("error"));
  q.bind(i++, cell.at("runtime").at("device").get<std::string>());
  bind_opt<std::string>(q, i++, at_or_null(r, {"provenance", "dtype"}));
  bind_opt<std::string>(q, i++, at_or_null(r, {"provenance", "harness_version"}));
  bind_opt<std::string>(q, i++, at_or_null(r, {"provenance", "environment", "git_sha"}));
  bind_opt<std::string>(q, i++, at_or_null(r, {"provenance", "host"}));
  bind_opt<double>(q, i++, at_or_null(r, {"timing", "data_s"}));
  bind_opt<double>(q, i++, at_or_null(r, {"timing", "load_s"}));
  bind_opt<double>(q, i++, at_or_null(r, {"timing", "quantize_s"}));
  if (r.contains("timing")) q.bind(i++, eval_s);
  else q.bind(i++);
  bind_opt<double>(q, i++, at_or_null(r, {"timing", "total_s"}));
  bind_opt<double>(q, i++, at_or_null(r, {"memory", "peak_rss_gb"}));
  bind_opt<double>(q, i++, at_or_null(r, {"memory", "peak_gpu_gb"}));
  bind_opt<std::string>(q, i++, at_or_null(r, {"provenance", "started"}));
  bind_opt<std::string>(q, i++, at_or_null(r, {"provenance", "finished"}));
  q.bind(i++, r.dump());
  const nlohmann::json& numerics = at_or_null(r, {"provenance", "environment", "numerics"});
  if (numerics.is_null()) q.bind(i++);
  else q.bind(i++, numerics_summary(numerics));
  q.exec();

  SQLite::Statement del(db, "DELETE FROM metrics WHERE run_id = ?");
  del.bind(1, run_id);
  del.exec();
  int n = 0;
  if (r.contains("metrics")) {
    SQLite::Statement m(db, "INSERT INTO metrics (run_id, metric, value, stderr, n) VALUES (?,?,?,?,?)");
    for (const auto& x : r.at("metrics")) {
      m.bind(1, run_id);
      m.bind(2, x.at("name").get<std::string>());
      bind_opt<double>(m, 3, x.at("value"));
      bind_opt<double>(m, 4, x.at("stderr"));
      bind_opt<int64_t>(m, 5, x.at("n"));
      m.exec();
      m.reset();
      ++n;
    }
  }
  insert_metric_samples(db, r, fs::path(file).parent_path());
  return n;
}

// One record of a paper-number file into `q` (the INSERT of import_papers_in_transaction). Returns false
// for a record without a model, setting or value (a number from an abstract, a cell the source could not
// read): it cannot be compared and is skipped.
bool insert_paper_record(SQLite::Statement& q, const std::string& key, const std::string& file, size_t i,
                         const nlohmann::json& r) {
  if (!r.is_object()) throw InputError(fmt::format("{}: [{}] is {}, expected an object", file, i, r.dump()));
  if (r.value("model", nlohmann::json()).is_null() || r.value("setting", nlohmann::json()).is_null() ||
      r.value("value", nlohmann::json()).is_null())
    return false;
  const auto need = [&](const char* k) -> const nlohmann::json& {
    if (!r.contains(k) || r[k].is_null())
      throw InputError(fmt::format("{}: [{}] has no \"{}\" (expected paper, model, setting, method, metric, value, verified)",
                                   file, i, k));
    return r[k];
  };
  // Optional: true when the paper reports its own re-implementation of the method (reports mark it ‡).
  const nlohmann::json reimpl = r.value("reimplementation", nlohmann::json(false));
  if (!reimpl.is_boolean())
    throw InputError(fmt::format("{}: [{}].reimplementation is {}, expected true or false", file, i, reimpl.dump()));
  try {
    q.bind(1, key);
    q.bind(2, need("paper").get<std::string>());
    bind_opt<std::string>(q, 3, r.value("table", nlohmann::json()));
    q.bind(4, need("model").get<std::string>());
    q.bind(5, need("setting").get<std::string>());
    bind_opt<int64_t>(q, 6, r.value("group_size", nlohmann::json()));
    q.bind(7, need("method").get<std::string>());
    q.bind(8, need("metric").get<std::string>());
    q.bind(9, need("value").get<double>());
    bind_opt<std::string>(q, 10, r.value("source", nlohmann::json()));
    q.bind(11, need("verified").get<bool>() ? 1 : 0);
    bind_opt<std::string>(q, 12, r.value("note", nlohmann::json()));
    q.bind(13, reimpl.get<bool>() ? 1 : 0);
  } catch (const nlohmann::json::type_error& e) {
    throw InputError(fmt::format("{}: [{}]: wrong type ({})", file, i, e.what()));
  }
  q.exec();
  q.reset();
  return true;
}

// Rows are inserted in file order, so within one file rowid order is the file's order (reports break
// ties between records of one file by it).
int import_papers_in_transaction(SQLite::Database& db, const std::vector<std::string>& files) {
  int rows = 0;
  for (const auto& file : files) {
    const nlohmann::json doc = io::read_json_file(file);
    if (!doc.is_array()) throw InputError(fmt::format("{}: expected a JSON array of reported numbers", file));
    const std::string key = fs::path(file).filename().string();
    SQLite::Statement del(db, "DELETE FROM paper_numbers WHERE file = ?");
    del.bind(1, key);
    del.exec();
    SQLite::Statement q(db, R"sql(
INSERT INTO paper_numbers (file, paper, tbl, model, setting, group_size, method, metric, value, source, verified, note,
                           reimplementation)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?))sql");
    for (size_t i = 0; i < doc.size(); ++i) rows += insert_paper_record(q, key, file, i, doc[i]) ? 1 : 0;
  }
  return rows;
}

}  // namespace

namespace {

// How long a connection waits for another process's lock (an ingest writing) before giving up.
int busy_timeout_s() {
  const char* env = std::getenv("PTQBENCH_DB_TIMEOUT_S");
  if (env == nullptr || *env == '\0') return 30;
  char* end = nullptr;
  const long v = std::strtol(env, &end, 10);
  if (*end != '\0' || v < 0 || v > 86400)
    throw InputError(fmt::format("PTQBENCH_DB_TIMEOUT_S={}: expected whole seconds from 0 to 86400", env));
  return static_cast<int>(v);
}

std::string directory_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

bool writable(const std::string& path) { return ::access(path.c_str(), W_OK) == 0; }

// Byte 18 of the SQLite header: 1 rollback journal, 2 write-ahead log.
bool is_wal_database(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[20] = {};
  return in.read(header, sizeof header) && header[18] == 2;
}

// A write-ahead log with changes not yet copied into the database file.
bool wal_pending(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path + "-wal", ec);
  return !ec && size > 0;
}

std::string uri_path(const std::string& path) {
  std::string out = "file:";
  for (const char c : fs::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else out += c;
  }
  return out;
}

// Opens for reading without creating any file. A rollback-journal database (what ptqbench writes) needs
// nothing beside it. A WAL database needs its -shm: in a directory this process cannot write, with no
// un-checkpointed -wal, it is opened immutable (nothing can be writing it there: nobody may create files).
std::unique_ptr<SQLite::Database> open_read_only(const std::string& path, int timeout_s) {
  if (is_wal_database(path) && !writable(directory_of(path)) && !wal_pending(path))
    return std::make_unique<SQLite::Database>(uri_path(path) + "?immutable=1", SQLite::OPEN_READONLY | SQLite::OPEN_URI);
  return std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY, timeout_s * 1000);
}

}  // namespace

[[noreturn]] void ResultsDb::raise(const std::exception& e, bool input_fallback) const {
  const auto* sq = dynamic_cast<const SQLite::Exception*>(&e);
  if (sq == nullptr) throw;
  switch (sq->getErrorCode() & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw EnvironmentError(fmt::format("{} is locked by another process (waited {} s); another `ptqbench ingest` or "
                                         "`run` is writing it: run again when it has finished (PTQBENCH_DB_TIMEOUT_S "
                                         "waits longer)", path_, timeout_s_));
    case SQLITE_FULL: throw EnvironmentError(fmt::format("disk full writing {} ({})", path_, sq->what()));
    case SQLITE_READONLY:
      throw EnvironmentError(fmt::format("cannot write {}: read-only ({}); only `report`, `export` and `regress` "
                                         "read a database they cannot write", path_, sq->what()));
    case SQLITE_IOERR: throw EnvironmentError(fmt::format("I/O error on {} ({})", path_, sq->what()));
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      if (!writable(directory_of(path_)))
        throw EnvironmentError(fmt::format("cannot open {}: its directory is read-only ({}){}", path_, sq->what(),
                                           wal_pending(path_) ? fmt::format("; the changes in {}-wal need a -shm file "
                                           "beside it: checkpoint it where it can be written (sqlite3 DB 'PRAGMA "
                                           "wal_checkpoint(TRUNCATE)')", path_) : ""));
      throw InputError(fmt::format("cannot open results database {}: {}", path_, sq->what()));
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: throw InputError(fmt::format("{}: not a ptqbench results database ({})", path_, sq->what()));
    default:
      if (input_fallback) throw InputError(fmt::format("{}: not a ptqbench results database ({})", path_, sq->what()));
      throw;
  }
}

ResultsDb::ResultsDb(const std::string& path, bool read_only) : path_(path), timeout_s_(busy_timeout_s()) {
  std::error_code ec;
  if (read_only) {
    if (!fs::is_regular_file(path, ec))
      throw InputError(fmt::format("results database not found: {} (run `ptqbench ingest` first)", path));
    try {
      db_ = open_read_only(path, timeout_s_);
    } catch (const SQLite::Exception& e) {
      raise(e, false);
    }
  } else {
    const std::string dir = directory_of(path);
    fs::create_directories(dir, ec);
    if (ec && io::is_environment_errno(ec.value())) io::throw_write_error(dir, ec.value());
    // SQLite would open an unwritable database read-only without a word; the rollback journal needs the directory.
    if ((fs::exists(path, ec) && !writable(path)) || !writable(dir))
      throw EnvironmentError(fmt::format("cannot write {}: read-only ({} is not writable by this user); only `report`, "
                                         "`export` and `regress` read a database they cannot write",
                                         path, writable(dir) ? path : dir));
    try {
      db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, timeout_s_ * 1000);
      db_->exec("PRAGMA foreign_keys = ON");
    } catch (const SQLite::Exception& e) {
      raise(e, false);
    }
  }
  const int version = schema_version();
  if (version > kSchemaVersion)
    throw InputError(fmt::format("{}: schema version {} was written by a newer ptqbench (this one knows {})", path,
                                 version, kSchemaVersion));
  if (version < kSchemaVersion) {
    if (read_only)
      throw InputError(fmt::format("{}: schema version {} is older than {}: run `ptqbench ingest` to migrate it", path,
                                   version, kSchemaVersion));
    try {
      migrate();
    } catch (const SQLite::Exception& e) {
      raise(e, false);
    }
  }
}

ResultsDb::~ResultsDb() = default;

int ResultsDb::schema_version() const {
  try {
    if (!db_->tableExists("schema_version")) return 0;
    return db_->execAndGet("SELECT version FROM schema_version").getInt();
  } catch (const SQLite::Exception& e) {
    raise(e, true);  // a locked database is not "not a database"
  }
}

void ResultsDb::migrate() {
  SQLite::Transaction tx(*db_);
  if (!db_->tableExists("schema_version")) {
    db_->exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
    db_->exec("INSERT INTO schema_version (version) VALUES (0)");
  }
  const int from = db_->execAndGet("SELECT version FROM schema_version").getInt();
  for (int v = from; v < kSchemaVersion; ++v) db_->exec(migrations().at(static_cast<size_t>(v)));
  db_->exec(fmt::format("UPDATE schema_version SET version = {}", kSchemaVersion));
  tx.commit();
}

IngestStats ResultsDb::ingest(const std::string& results_dir) {
  try {
    return ingest_in_transaction(results_dir);
  } catch (const SQLite::Exception& e) {
    raise(e, false);
  }
}

IngestStats ResultsDb::ingest_in_transaction(const std::string& results_dir) {
  IngestStats stats;
  const fs::path runs = fs::path(results_dir) / "runs";
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(runs, ec))
    for (const auto& entry : fs::directory_iterator(runs)) {
      const fs::path f = entry.path() / "result.json";
      if (entry.is_directory() && fs::is_regular_file(f, ec)) files.push_back(f);
    }
  std::sort(files.begin(), files.end());  // a deterministic database whatever the directory order
  std::set<std::string> papers;
  SQLite::Transaction tx(*db_);
  for (const auto& f : files) {
    const nlohmann::json r = io::read_json_file(f.string());
    try {
      stats.metrics += insert_run(*db_, r, f.string());
      if (r.at("cell").contains("papers"))
        for (const auto& p : r.at("cell").at("papers")) papers.insert(p.get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}: not a ptqbench result ({})", f.string(), e.what()));
    }
    ++stats.runs;
    (r.at("status") == "ok" ? stats.ok : stats.failed)++;
  }
  for (const auto& p : papers)
    if (io::file_exists(p)) stats.paper_files.push_back(p);
  import_papers_in_transaction(*db_, stats.paper_files);
  tx.commit();
  return stats;
}

int ResultsDb::import_papers(const std::vector<std::string>& files) {
  try {
    SQLite::Transaction tx(*db_);
    const int rows = import_papers_in_transaction(*db_, files);
    tx.commit();
    return rows;
  } catch (const SQLite::Exception& e) {
    raise(e, false);
  }
}

}  // namespace ptq::store
