#include "harness/report/export_cells.h"

#include "evaluators/evaluator.h"
#include "harness/report/lm_eval_tasks.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <algorithm>

namespace ptq::report {

namespace {

const nlohmann::json& null_json() {
  static const nlohmann::json null;
  return null;
}

double number_or_nan(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

ExportMetric read_metric(const nlohmann::json& m) {
  ExportMetric x;
  x.name = m.at("name").get<std::string>();
  x.value = number_or_nan(m, "value");
  x.stderr_value = number_or_nan(m, "stderr");
  if (m.contains("n") && m["n"].is_number_integer()) x.n = m["n"].get<int64_t>();
  if (m.contains("higher_is_better") && m["higher_is_better"].is_boolean()) {
    x.higher_is_better = m["higher_is_better"].get<bool>();
  } else {
    // Results written before metrics carried their direction: the evaluator that produces the metric says.
    try {
      x.higher_is_better = eval::evaluators().higher_is_better(x.name);
    } catch (const InputError&) {
    }
  }
  return x;
}

ExportCell read_cell(SQLite::Statement& q) {
  ExportCell c;
  c.run_id = q.getColumn(0).getString();
  c.experiment = q.getColumn(1).getString();
  c.model = q.getColumn(2).getString();
  c.paper_model = q.getColumn(3).getString();
  c.setting = q.getColumn(4).getString();
  c.method = q.getColumn(5).getString();
  c.label = q.getColumn(6).getString();
  c.paper_method = q.getColumn(7).getString();
  if (!q.getColumn(8).isNull()) c.seed = q.getColumn(8).getInt64();
  try {
    c.result = nlohmann::json::parse(q.getColumn(9).getString());
    if (c.result.contains("metrics"))
      for (const auto& m : c.result.at("metrics")) c.metrics.push_back(read_metric(m));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("results database: run {}: its result document is not a ptqbench result ({})", c.run_id,
                                 e.what()));
  }
  return c;
}

void check_known(const std::vector<std::string>& wanted, const std::vector<std::string>& known, const std::string& db) {
  for (const auto& name : wanted) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    const std::string hint = closest_match(name, known);
    throw InputError(fmt::format("--experiment: unknown experiment '{}' in {}{} (expected one of: {})", name, db,
                                 hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint),
                                 known.empty() ? "none" : join(known, ", ")));
  }
}

}  // namespace

const ExportMetric* ExportCell::metric(const std::string& name) const {
  for (const auto& m : metrics)
    if (m.name == name) return &m;
  return nullptr;
}

const nlohmann::json& ExportCell::details(const std::string& task) const {
  if (!result.contains("details") || !result["details"].contains(task)) return null_json();
  return result["details"][task];
}

const nlohmann::json& ExportCell::task_spec(const std::string& task) const {
  if (!result.contains("cell") || !result["cell"].contains("evaluators")) return null_json();
  for (const auto& e : result["cell"]["evaluators"])
    if (e.value("task", "") == task) return e;
  return null_json();
}

EvalSize ExportCell::size(const ExportMetric& m) const {
  const nlohmann::json& cell = result.contains("cell") ? result["cell"] : null_json();
  const nlohmann::json& average = cell.is_object() && cell.contains("zeroshot_average") ? cell["zeroshot_average"] : null_json();
  // eval_size knows a task's sizes under its reported metric (piqa) and its perplexity (wikitext2_ppl).
  std::string probe = m.name;
  if (const auto lm = lm_eval_metric(m.name)) probe = lm->key == "token_perplexity" ? m.name : lm->task;
  return eval_size(result.value("details", nlohmann::json()), average, probe, m.n.value_or(0));
}

int64_t ExportCell::limit_of(const std::string& task) const {
  const nlohmann::json& spec = task_spec(task);
  return spec.is_object() && spec.contains("limit") && spec["limit"].is_number_integer() ? spec["limit"].get<int64_t>() : 0;
}

std::vector<std::string> export_experiments(store::ResultsDb& db) {
  std::vector<std::string> names;
  SQLite::Statement q(db.db(), "SELECT DISTINCT experiment FROM runs ORDER BY experiment");
  while (q.executeStep()) names.push_back(q.getColumn(0).getString());
  return names;
}

ExportSelection select_export_cells(store::ResultsDb& db, const std::vector<std::string>& experiments) {
  const std::vector<std::string> known = export_experiments(db);
  if (known.empty()) throw InputError(fmt::format("{} holds no runs yet: nothing to export (ptqbench ingest)", db.path()));
  check_known(experiments, known, db.path());
  const std::vector<std::string>& names = experiments.empty() ? known : experiments;
  ExportSelection sel;
  SQLite::Statement q(db.db(), R"sql(
SELECT run_id, experiment, model_id, paper_model, setting, method, label, paper_method, calib_seed, result_json, status
FROM runs WHERE experiment = ? ORDER BY cell_index, run_id)sql");
  for (const auto& name : names) {
    q.bind(1, name);
    while (q.executeStep()) {
      if (q.getColumn(10).getString() == "ok") sel.cells.push_back(read_cell(q));
      else ++sel.failed;
    }
    q.reset();
  }
  if (sel.cells.empty())
    throw InputError(fmt::format("{}: experiment{} {} {} no successful runs to export ({} failed)", db.path(),
                                 names.size() == 1 ? "" : "s", join(names, ", "), names.size() == 1 ? "has" : "have",
                                 sel.failed));
  return sel;
}

}  // namespace ptq::report
