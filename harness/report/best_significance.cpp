#include "harness/report/best_significance.h"

#include "evaluators/evaluator.h"
#include "evaluators/zeroshot_average.h"
#include "harness/report/regress.h"
#include "harness/report/report_table.h"
#include "harness/store/results_db.h"
#include "harness/store/sample_log.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <optional>

namespace ptq::report {

std::string BestTest::describe() const {
  const std::string paired = basis == "paired" ? fmt::format(" on {} paired examples", paired_examples) : "";
  return fmt::format("{}{} vs {}: {}; p = {:.2g}", test_name(test.method), paired, runner_up_title, test.detail, test.p);
}

namespace {

// The one ok run of a row on a model (the rows tested have one seed).
struct RunOf {
  const std::string& experiment;
  const std::string &model, &setting, &label;
};

// `sql` selects one value of the run's rows (bound: experiment, model, setting, label, then `extra`);
// null when there is not exactly one such row.
std::optional<std::string> one_value(SQLite::Database& db, const char* sql, const RunOf& run, const std::string& extra = "") {
  SQLite::Statement q(db, sql);
  int i = 1;
  for (const std::string* v : {&run.experiment, &run.model, &run.setting, &run.label}) q.bind(i++, *v);
  if (!extra.empty()) q.bind(i, extra);
  if (!q.executeStep() || q.getColumn(0).isNull()) return std::nullopt;
  std::string value = q.getColumn(0).getString();
  if (q.executeStep()) return std::nullopt;  // two seeds: no single run's samples
  return value;
}

std::optional<store::MetricSamples> run_samples(SQLite::Database& db, const RunOf& run, const std::string& metric) {
  const auto json = one_value(db, R"sql(
SELECT s.samples_json FROM runs r JOIN metric_samples s ON s.run_id = r.run_id
WHERE r.experiment = ? AND r.model_id = ? AND r.setting = ? AND r.label = ? AND r.status = 'ok' AND s.metric = ?)sql",
                              run, metric);
  if (!json) return std::nullopt;
  return store::MetricSamples::from_json(nlohmann::json::parse(*json), "metric_samples of " + metric);
}

// The tasks the run's zero-shot average covers (the cell's "zeroshot_average"); empty when unknown.
std::vector<std::string> average_tasks(SQLite::Database& db, const RunOf& run) {
  const auto json = one_value(db, R"sql(
SELECT json_extract(result_json, '$.cell.zeroshot_average') FROM runs
WHERE experiment = ? AND model_id = ? AND setting = ? AND label = ? AND status = 'ok')sql",
                              run);
  const nlohmann::json tasks = json ? nlohmann::json::parse(*json, nullptr, false) : nlohmann::json();
  return tasks.is_array() ? tasks.get<std::vector<std::string>>() : std::vector<std::string>{};
}

// Both sides' samples of `metric`, paired, when both have them on the same examples.
std::optional<PairedPart> same_examples(SQLite::Database& db, const RunOf& next, const RunOf& best, const std::string& metric,
                                        std::string* kind) {
  const auto a = run_samples(db, next, metric), b = run_samples(db, best, metric);
  if (!a || !b || a->kind != b->kind || a->ids != b->ids || a->ids.empty()) return std::nullopt;
  *kind = a->kind;
  return pair_samples(*a, *b);
}

// The paired test of one metric, or of the zero-shot average task by task; nullopt without samples.
std::optional<BestTest> paired(SQLite::Database& db, const RunOf& next, const RunOf& best, const std::string& metric) {
  BestTest r;
  r.basis = "paired";
  std::string kind;
  if (const auto p = same_examples(db, next, best, metric, &kind)) {
    r.test = kind == "binary" ? paired_test(p->baseline, p->current) : paired_t_test(p->baseline, p->current);
    r.paired_examples = static_cast<int64_t>(p->baseline.size());
    return r;
  }
  if (metric != eval::kZeroShotAverage) return std::nullopt;
  const auto tasks = average_tasks(db, best);
  if (tasks.empty() || tasks != average_tasks(db, next)) return std::nullopt;
  std::vector<PairedPart> parts;
  for (const auto& task : tasks) {
    const auto p = same_examples(db, next, best, task, &kind);
    if (!p) return std::nullopt;
    parts.push_back(*p);
    r.paired_examples += static_cast<int64_t>(p->baseline.size());
  }
  r.test = average_of_parts_test(parts);
  return r;
}

// The best and the runner-up quantized row of rows [begin, end) (one setting) in column `c`, both
// single-seed values; nullopt when fewer than two rows have a value or either is a mean over seeds.
std::optional<std::pair<const Row*, const Row*>> best_two(const ReportTable& t, size_t begin, size_t end, const Column& c) {
  std::vector<const Row*> rows;
  for (size_t i = begin; i < end; ++i) {
    const auto it = t.rows[i].ours.find(c);
    if (!t.rows[i].is_fp() && it != t.rows[i].ours.end() && it->second.has()) rows.push_back(&t.rows[i]);
  }
  if (rows.size() < 2) return std::nullopt;
  const bool higher = eval::evaluators().higher_is_better(c.second);
  std::stable_sort(rows.begin(), rows.end(), [&](const Row* a, const Row* b) {
    return higher ? a->ours.at(c).mean > b->ours.at(c).mean : a->ours.at(c).mean < b->ours.at(c).mean;
  });
  if (rows[0]->ours.at(c).n != 1 || rows[1]->ours.at(c).n != 1) return std::nullopt;
  return std::make_pair(rows[0], rows[1]);
}

// Paired where both runs have samples, else on the standard errors; nullopt when neither can test.
std::optional<BestTest> test_best(SQLite::Database& db, const ReportTable& t, const Row& best, const Row& next, const Column& c) {
  std::optional<BestTest> r = paired(db, {t.experiment, c.first, next.setting, next.label},
                                     {t.experiment, c.first, best.setting, best.label}, c.second);
  if (!r || !std::isfinite(r->test.p)) {
    const Stat &b = best.ours.at(c), &n = next.ours.at(c);
    if (!std::isfinite(b.stderr_value) || !std::isfinite(n.stderr_value)) return std::nullopt;
    r = BestTest{};
    r->basis = "stderr";
    r->test = stderr_z_test(n.mean, n.stderr_value, b.mean, b.stderr_value);
  }
  r->best = best.label;
  r->runner_up = next.label;
  r->runner_up_title = next.title();
  return r;
}

}  // namespace

BestTests best_vs_runner_up(store::ResultsDb& db, const ReportTable& t) {
  BestTests out;
  for (size_t begin = 0; begin < t.rows.size();) {
    size_t end = begin;
    while (end < t.rows.size() && t.rows[end].setting == t.rows[begin].setting) ++end;
    for (const auto& model : t.models)
      for (const auto& metric : t.metrics) {
        const Column c{model, metric};
        const auto two = best_two(t, begin, end, c);
        if (!two) continue;
        if (auto r = test_best(db.db(), t, *two->first, *two->second, c)) out[{t.rows[begin].setting, c}] = std::move(*r);
      }
    begin = end;
  }
  return out;
}

}  // namespace ptq::report
