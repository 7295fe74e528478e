#include "harness/report/export_table.h"

#include "evaluators/evaluator.h"
#include "harness/report/lm_eval_tasks.h"
#include "harness/report/report_table.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <tuple>

namespace ptq::report {

namespace {

using json = nlohmann::json;
using Values = std::vector<json>;  // one row, in export_columns() order
using PaperKey = std::tuple<std::string, std::string, std::string, std::string>;  // model, setting, label, metric

// The paper numbers `ptqbench report` shows for an experiment (only its declared papers; none for
// ablation rows), keyed by what identifies a metric of a cell.
std::map<PaperKey, PaperValue> paper_values(store::ResultsDb& db, const std::string& experiment) {
  std::map<PaperKey, PaperValue> out;
  const ReportTable table = build_report(db, experiment);
  for (const auto& row : table.rows)
    for (const auto& [column, paper] : row.paper)
      if (paper.has()) out[{column.first, row.setting, row.label, column.second}] = paper;
  return out;
}

std::string unit_of(const std::string& metric) {
  if (metric == eval::kZeroShotAverage) return "percent";
  const auto lm = lm_eval_metric(metric);
  if (!lm) return "";
  return lm->divisor == 1 ? "perplexity" : "percent";
}

// The --limit behind a metric: its task's, or for the zero-shot average the largest of its tasks'.
json limit_of(const ExportCell& c, const std::string& metric) {
  int64_t limit = 0;
  if (metric == eval::kZeroShotAverage) {
    const json& cell = c.result.contains("cell") ? c.result["cell"] : json();
    for (const auto& t : cell.is_object() ? cell.value("zeroshot_average", json::array()) : json::array())
      if (t.is_string()) limit = std::max(limit, c.limit_of(t.get<std::string>()));
  } else if (const auto lm = lm_eval_metric(metric)) {
    limit = c.limit_of(lm->task);
  }
  return limit > 0 ? json(limit) : json(nullptr);
}

// A number of the run's "size" (ptq/packed_size.h); null for runs that recorded none (before issue #30).
json size_field(const ExportCell& c, const char* key) {
  const json& size = c.result.contains("size") ? c.result["size"] : json();
  return size.is_object() && size.contains(key) && size[key].is_number() ? size[key] : json(nullptr);
}

json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

Values row(const ExportCell& c, const ExportMetric& m, const std::map<PaperKey, PaperValue>& papers) {
  const auto lm = lm_eval_metric(m.name);
  const EvalSize size = c.size(m);
  const auto p = papers.find({c.model, c.setting, c.label, m.name});
  const bool has_paper = p != papers.end();
  return {c.run_id, c.experiment, c.model, c.paper_model, c.setting, c.method, c.label,
          c.seed ? json(*c.seed) : json(nullptr), lm ? json(lm->task) : json(nullptr), m.name,
          finite_or_null(m.value), finite_or_null(m.stderr_value), m.n ? json(size.docs) : json(nullptr),
          size.total > 0 ? json(size.total) : json(nullptr), limit_of(c, m.name), unit_of(m.name),
          m.higher_is_better ? json(*m.higher_is_better) : json(nullptr),
          has_paper ? json(p->second.value) : json(nullptr), has_paper ? json(p->second.paper) : json(nullptr),
          has_paper ? json(p->second.table) : json(nullptr), size_field(c, "effective_bits_per_weight"),
          size_field(c, "packed_bytes")};
}

std::vector<Values> rows(store::ResultsDb& db, const std::vector<ExportCell>& cells) {
  std::map<std::string, std::map<PaperKey, PaperValue>> papers;  // per experiment
  std::vector<Values> out;
  for (const auto& c : cells) {
    if (!papers.count(c.experiment)) papers[c.experiment] = paper_values(db, c.experiment);
    for (const auto& m : c.metrics) out.push_back(row(c, m, papers[c.experiment]));
  }
  return out;
}

std::string csv_value(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return csv_field(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return fmt::format("{}", v.get<double>());  // the shortest text that reads back as the same double
}

}  // namespace

const std::vector<std::string>& export_columns() {
  static const std::vector<std::string> columns = {
      "run_id", "experiment", "model", "paper_model", "setting", "method", "label", "seed", "task", "metric",
      "value", "stderr", "n", "n_total", "limit", "unit", "higher_is_better", "paper_value", "paper", "paper_table",
      "effective_bits_per_weight", "packed_bytes"};
  return columns;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char ch : text) {
    if (ch == '"') quoted += '"';
    quoted += ch;
  }
  return quoted + "\"";
}

std::string export_csv(store::ResultsDb& db, const std::vector<ExportCell>& cells) {
  std::string out;
  const auto& columns = export_columns();
  for (size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
  out += "\n";
  for (const auto& values : rows(db, cells)) {
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + csv_value(values[i]);
    out += "\n";
  }
  return out;
}

std::string export_jsonl(store::ResultsDb& db, const std::vector<ExportCell>& cells) {
  std::string out;
  const auto& columns = export_columns();
  for (const auto& values : rows(db, cells)) {
    nlohmann::ordered_json line;  // keys in column order, as the CSV
    for (size_t i = 0; i < values.size(); ++i) line[columns[i]] = values[i];
    out += line.dump() + "\n";
  }
  return out;
}

}  // namespace ptq::report
