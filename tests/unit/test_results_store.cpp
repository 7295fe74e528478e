// The SQLite results store: schema version and migrations, idempotent ingest, transactions that leave
// the previous state intact when an ingest fails, paper-number import.
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "tests/support/result_fixtures.h"
#include "tests/support/test_env.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

using Catch::Matchers::Contains;
using ptq::store::ResultsDb;
using ptq::test::TempDir;

namespace {

int count(ResultsDb& db, const std::string& sql) { return db.db().execAndGet(sql).getInt(); }

std::vector<std::string> metric_rows(ResultsDb& db) {
  std::vector<std::string> rows;
  SQLite::Statement q(db.db(), "SELECT run_id, metric, value, stderr, n FROM metrics ORDER BY run_id, metric");
  while (q.executeStep())
    rows.push_back(q.getColumn(0).getString() + "|" + q.getColumn(1).getString() + "|" + q.getColumn(2).getString() +
                   "|" + q.getColumn(3).getString() + "|" + q.getColumn(4).getString());
  return rows;
}

}  // namespace

TEST_CASE("a new database gets the current schema version and its tables", "[unit][store]") {
  TempDir dir;
  ResultsDb db(dir.file("sub/ptq.db"));
  CHECK(db.schema_version() == ptq::store::kSchemaVersion);
  for (const char* t : {"runs", "metrics", "paper_numbers", "schema_version"}) CHECK(db.db().tableExists(t));
  // Re-opening does not migrate again.
  ResultsDb again(dir.file("sub/ptq.db"));
  CHECK(again.schema_version() == ptq::store::kSchemaVersion);
}

TEST_CASE("a schema-1 database (before numerics and samples) is migrated by ingest, refused read-only", "[unit][store]") {
  TempDir dir;
  ptq::test::FakeRun run;
  run.setting = "W4A16", run.method = "rtn", run.numerics = "reproducible";
  run.metrics = {{"wikitext2_ppl", 6.1}};
  run.samples = {{"wikitext2", {{{"segment", 0}, {"nll", 1.8}, {"tokens", 511}}, {{"segment", 1}, {"nll", 1.9}, {"tokens", 511}}}}};
  ptq::test::write_fake_run(dir.file("results"), run);
  {  // What schema 1 was: no runs.numerics, no metric_samples, no paper_numbers.reimplementation.
    ResultsDb db(dir.file("ptq.db"));
    db.db().exec("DROP TABLE metric_samples; ALTER TABLE runs DROP COLUMN numerics; "
                 "ALTER TABLE paper_numbers DROP COLUMN reimplementation; UPDATE schema_version SET version = 1");
  }
  CHECK_THROWS_WITH(ResultsDb(dir.file("ptq.db"), true),
                    Contains(fmt::format("schema version 1 is older than {}", ptq::store::kSchemaVersion)) &&
                        Contains("ptqbench ingest"));
  ResultsDb db(dir.file("ptq.db"));
  CHECK(db.schema_version() == ptq::store::kSchemaVersion);
  CHECK(count(db, "SELECT COUNT(*) FROM pragma_table_info('paper_numbers') WHERE name = 'reimplementation'") == 1);
  db.ingest(dir.file("results"));
  CHECK(db.db().execAndGet("SELECT numerics FROM runs").getString() == "reproducible (? kernels, ? ?, fixed tiles)");
  CHECK(db.db().execAndGet("SELECT samples_json FROM metric_samples WHERE metric = 'wikitext2_ppl'").getString() ==
        R"({"ids":[0,1],"kind":"nll","values":[1.8,1.9]})");
}

TEST_CASE("a database from a newer ptqbench is refused, a missing one in read-only mode too", "[unit][store]") {
  TempDir dir;
  {
    ResultsDb db(dir.file("ptq.db"));
    db.db().exec("UPDATE schema_version SET version = 99");
  }
  CHECK_THROWS_WITH(ResultsDb(dir.file("ptq.db")), Contains("schema version 99") && Contains("newer ptqbench"));
  CHECK_THROWS_WITH(ResultsDb(dir.file("none.db"), true), Contains("results database not found"));
}

TEST_CASE("ingest upserts every result file, ingesting twice changes nothing", "[unit][store]") {
  TempDir dir;
  const std::string papers = ptq::test::write_golden_fixture(dir.file("results"));
  ResultsDb db(dir.file("ptq.db"));
  const auto s = db.ingest(dir.file("results"));
  CHECK(s.runs == 6);
  CHECK(s.ok == 5);
  CHECK(s.failed == 1);
  CHECK(s.metrics == 5 + 4 + 4 + 4 + 4);
  CHECK(count(db, "SELECT COUNT(*) FROM runs") == 6);
  CHECK(count(db, "SELECT COUNT(*) FROM metrics") == 21);
  CHECK(db.db().execAndGet("SELECT error FROM runs WHERE status = 'failed'").getString() == "cuda out of memory");
  CHECK(db.db().execAndGet("SELECT value FROM metrics m JOIN runs r USING (run_id) WHERE r.label = 'omniquant' "
                           "AND r.calib_seed = 3 AND m.metric = 'wikitext2_ppl'").getDouble() == 5.74);
  // A run's size on disk (issue #30) is in its result JSON, queryable without a column of its own.
  CHECK(db.db().execAndGet("SELECT json_extract(result_json, '$.size.packed_bytes') FROM runs WHERE label = 'rtn' "
                           "AND setting = 'W4A16'").getInt64() == 3770777600);
  const auto before = metric_rows(db);
  db.ingest(dir.file("results"));
  CHECK(metric_rows(db) == before);
  CHECK(count(db, "SELECT COUNT(*) FROM runs") == 6);

  // Six records, one without a model (an abstract's number): five rows.
  CHECK(db.import_papers({papers}) == 5);
  CHECK(db.import_papers({papers}) == 5);  // replaces, does not duplicate
  CHECK(count(db, "SELECT COUNT(*) FROM paper_numbers") == 5);
  CHECK(count(db, "SELECT COUNT(*) FROM paper_numbers WHERE verified = 0") == 1);
}

TEST_CASE("a re-run cell replaces its metrics (a metric that disappeared is gone)", "[unit][store]") {
  TempDir dir;
  ptq::test::FakeRun r;
  r.setting = "W4A16", r.method = "rtn";
  r.metrics = {{"wikitext2_ppl", 6.0}, {"c4_ppl", 7.0}};
  ptq::test::write_fake_run(dir.file("results"), r);
  ResultsDb db(dir.file("ptq.db"));
  db.ingest(dir.file("results"));
  r.metrics = {{"wikitext2_ppl", 6.5}};
  ptq::test::write_fake_run(dir.file("results"), r);
  db.ingest(dir.file("results"));
  CHECK(count(db, "SELECT COUNT(*) FROM metrics") == 1);
  CHECK(db.db().execAndGet("SELECT value FROM metrics").getDouble() == 6.5);
}

TEST_CASE("an ingest that meets a malformed result file writes nothing", "[unit][store]") {
  TempDir dir;
  ptq::test::FakeRun r;
  r.setting = "W4A16", r.method = "rtn";
  r.metrics = {{"wikitext2_ppl", 6.0}};
  ptq::test::write_fake_run(dir.file("results"), r);
  ResultsDb db(dir.file("ptq.db"));
  db.ingest(dir.file("results"));
  const auto before = metric_rows(db);

  r.setting = "W3A16";
  r.metrics = {{"wikitext2_ppl", 9.0}};
  ptq::test::write_fake_run(dir.file("results"), r);  // a valid new run ...
  std::filesystem::create_directories(dir.file("results/runs/zzzz"));
  ptq::test::write_text(dir.file("results/runs/zzzz/result.json"), "{\"run_id\": ");  // ... and a broken one
  CHECK_THROWS_AS(db.ingest(dir.file("results")), ptq::InputError);
  CHECK_THROWS_WITH(db.ingest(dir.file("results")), Contains("zzzz/result.json"));
  CHECK(metric_rows(db) == before);  // the valid new run was not half-ingested either
  CHECK(count(db, "SELECT COUNT(*) FROM runs") == 1);
}

TEST_CASE("malformed paper-number files are refused with the record index", "[unit][store]") {
  TempDir dir;
  ResultsDb db(dir.file("ptq.db"));
  ptq::test::write_text(dir.file("p.json"), R"([{"paper": "P", "model": "M", "setting": "W4A16", "method": "RTN", "value": 1.0, "verified": true}])");
  CHECK_THROWS_WITH(db.import_papers({dir.file("p.json")}), Contains("p.json: [0] has no \"metric\""));
  ptq::test::write_text(dir.file("q.json"), R"({"not": "a list"})");
  CHECK_THROWS_WITH(db.import_papers({dir.file("q.json")}), Contains("expected a JSON array"));
  ptq::test::write_text(dir.file("r.json"), R"([{"paper": "P", "model": "M", "setting": "W4A16", "method": "RTN",
    "metric": "m", "value": 1.0, "verified": true, "reimplementation": "yes"}])");
  CHECK_THROWS_WITH(db.import_papers({dir.file("r.json")}),
                    Contains("r.json: [0].reimplementation is \"yes\", expected true or false"));
  CHECK(count(db, "SELECT COUNT(*) FROM paper_numbers") == 0);
}

TEST_CASE("experiments/papers/*.json import, and SliderQuant's own re-implementation of CBQ is marked as one", "[unit][store]") {
  // Issue #25: SliderQuant's CBQ rows (its re-implementation: WikiText-2 calibration, its own channel
  // scaling, LoRA r = 4) showed as CBQ's paper numbers without a mark.
  TempDir dir;
  ResultsDb db(dir.file("ptq.db"));
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(ptq::test::source_dir() + "/experiments/papers"))
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  CHECK(db.import_papers(files) > 0);
  const int cbq_by_slider =
      count(db, "SELECT COUNT(*) FROM paper_numbers WHERE file = 'sliderquant.json' AND method LIKE 'CBQ%'");
  CHECK(cbq_by_slider > 0);
  CHECK(count(db, "SELECT COUNT(*) FROM paper_numbers WHERE reimplementation = 1") == cbq_by_slider);
  CHECK(count(db, "SELECT COUNT(*) FROM paper_numbers WHERE reimplementation = 1 AND file = 'sliderquant.json' AND "
                  "method LIKE 'CBQ%'") == cbq_by_slider);
}
