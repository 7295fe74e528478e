#include "harness/report/report_table.h"

#include "evaluators/zeroshot_average.h"
#include "harness/ptq/quant_setting.h"
#include "harness/report/eval_size.h"
#include "harness/report/provenance_summary.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

namespace ptq::report {

namespace {

// Paper tables' column order; anything else follows alphabetically.
const std::vector<std::string>& canonical_metrics() {
  static const std::vector<std::string> order = {
      "wikitext2_ppl", "c4_ppl", "c4_new_ppl", "piqa", "arc_easy", "arc_challenge", "boolq", "hellaswag",
      "winogrande", "zeroshot_avg", "lambada_openai", "lambada_openai_ppl"};
  return order;
}

Stat summarize(const std::vector<double>& xs) {
  Stat s;
  std::vector<double> v;
  for (double x : xs)
    if (std::isfinite(x)) v.push_back(x);
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / (v.size() - 1));
  }
  return s;
}

std::tuple<int, int64_t, int> setting_key(const std::string& s) {
  try {
    const auto q = quant::QuantSetting::parse(s);
    // As the papers' tables: FP first; weight-only settings, then weight-activation ones (more activation
    // bits first); within those more weight bits first, per-channel before groups, larger groups first.
    if (q.is_full_precision()) return {-1000, 0, 0};
    return {-q.abits, -q.wbits, q.group_size == 0 ? -1000000 : -q.group_size};
  } catch (const InputError&) {
    return {0, 0, 0};
  }
}

// The paper's spelling of our setting: W4A16g128 -> ("W4A16", 128); settings with options the papers'
// tables do not have (KV bits, symmetric) have no paper counterpart.
bool paper_setting(const std::string& ours, std::string* base, int64_t* group) {
  try {
    const auto q = quant::QuantSetting::parse(ours);
    *base = fmt::format("W{}A{}", q.wbits, q.abits);
    *group = q.group_size;
    return quant::QuantSetting::parse(*base + (q.group_size ? fmt::format("g{}", q.group_size) : "")) == q;
  } catch (const InputError&) {
    return false;
  }
}

// Only the experiment's own paper files, in their declared priority; within one file a verified record
// before an unverified one, then the file's order. Never every file in the database: another
// experiment's paper may report the same key with another number (SliderQuant's FP16 zero-shot
// accuracies are not OmniQuant's), and which came first would depend on the import order.
PaperValue lookup_paper(SQLite::Database& db, const std::vector<std::string>& files, const std::string& model,
                        const std::string& setting, const std::string& method, const std::string& metric) {
  PaperValue p;
  std::string base;
  int64_t group = 0;
  if (files.empty() || model.empty() || method.empty() || !paper_setting(setting, &base, &group)) return p;
  SQLite::Statement q(db, R"sql(
SELECT value, verified, paper, COALESCE(tbl, ''), file, reimplementation FROM paper_numbers
WHERE file = ? AND model = ? AND setting = ? AND method = ? COLLATE NOCASE AND metric = ?
  AND COALESCE(group_size, 0) = ?
ORDER BY verified DESC, rowid LIMIT 1)sql");
  for (const auto& file : files) {
    q.bind(1, file);
    q.bind(2, model);
    q.bind(3, base);
    q.bind(4, method);
    q.bind(5, metric);
    q.bind(6, group);
    if (q.executeStep()) {
      p.value = q.getColumn(0).getDouble();
      p.verified = q.getColumn(1).getInt() != 0;
      p.paper = q.getColumn(2).getString();
      p.table = q.getColumn(3).getString();
      p.file = q.getColumn(4).getString();
      p.reimplementation = q.getColumn(5).getInt() != 0;
      return p;
    }
    q.reset();
  }
  return p;
}

}  // namespace

bool is_detail_metric(const std::string& m) {
  const auto ends = [&](const std::string& suffix) {
    return m.size() > suffix.size() && m.compare(m.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends("_acc") || ends("_acc_norm");
}

bool ReportTable::column_has_paper(const Column& c) const {
  return std::any_of(rows.begin(), rows.end(), [&](const Row& r) {
    const auto it = r.paper.find(c);
    return it != r.paper.end() && it->second.has();
  });
}

std::string metric_title(const std::string& metric) {
  static const std::map<std::string, std::string> titles = {
      {"wikitext2_ppl", "WikiText2"}, {"c4_ppl", "C4"},           {"c4_new_ppl", "C4-new"},
      {"piqa", "PIQA"},               {"arc_easy", "ARC-e"},      {"arc_challenge", "ARC-c"},
      {"boolq", "BoolQ"},             {"hellaswag", "HellaSwag"}, {"winogrande", "WinoGrande"},
      {"zeroshot_avg", "Avg."},       {"lambada_openai", "LAMBADA"}, {"lambada_openai_ppl", "LAMBADA ppl"}};
  const auto it = titles.find(metric);
  return it == titles.end() ? metric : it->second;
}

bool setting_before(const std::string& a, const std::string& b) {
  const auto ka = setting_key(a), kb = setting_key(b);
  return ka != kb ? ka < kb : a < b;
}

std::vector<std::string> experiments(store::ResultsDb& db) {
  std::vector<std::string> out;
  SQLite::Statement q(db.db(), "SELECT DISTINCT experiment FROM runs ORDER BY experiment");
  while (q.executeStep()) out.push_back(q.getColumn(0).getString());
  return out;
}

namespace {

void require_runs(store::ResultsDb& db, const std::string& experiment) {
  SQLite::Statement q(db.db(), "SELECT COUNT(*) FROM runs WHERE experiment = ?");
  q.bind(1, experiment);
  q.executeStep();
  if (q.getColumn(0).getInt() == 0) {
    const auto known = experiments(db);
    throw InputError(fmt::format("no runs of experiment '{}' in {} (it has: {})", experiment, db.path(),
                                 known.empty() ? "none" : join(known, ", ")));
  }
}

// The experiment's "papers" as file names (the database's key), in its order of priority, as its newest
// run's cell holds them: runs of one experiment share them unless the experiment file changed between
// runs, and then the newest run has the current list. Runs written before cells held them: none.
std::vector<std::string> declared_paper_files(store::ResultsDb& db, const std::string& experiment) {
  SQLite::Statement q(db.db(), R"sql(
SELECT COALESCE(json_extract(result_json, '$.cell.papers'), '[]') FROM runs WHERE experiment = ?
ORDER BY COALESCE(finished, started, '') DESC, run_id LIMIT 1)sql");
  q.bind(1, experiment);
  std::vector<std::string> files;
  if (!q.executeStep()) return files;
  const nlohmann::json list = nlohmann::json::parse(q.getColumn(0).getString(), nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return files;
  for (const auto& p : list) {
    if (!p.is_string()) continue;
    const std::string name = std::filesystem::path(p.get<std::string>()).filename().string();
    if (std::find(files.begin(), files.end(), name) == files.end()) files.push_back(name);
  }
  return files;
}

// A table row: one setting and method label.
struct RowKey {
  std::string setting, label;
  bool operator<(const RowKey& o) const { return std::tie(setting, label) < std::tie(o.setting, o.label); }
};

// What a row's first run says about it.
struct RowInfo {
  int64_t first = 0;  // plan index
  std::string method, paper_method;
  bool paper_row = true;
};

// What the experiment's ok runs hold, gathered in plan order (failures go to t.failures, numerics modes
// and paper model names into t).
struct Collected {
  std::map<RowKey, RowInfo> row_info;
  std::map<std::string, int64_t> model_first;                                // model -> first plan index
  std::map<std::pair<RowKey, Column>, std::vector<double>> values;           // one value per seed
  std::map<std::pair<RowKey, Column>, std::vector<std::pair<double, EvalSize>>> sizes;  // stderr, size per seed
  std::map<std::pair<RowKey, std::string>, std::array<std::vector<double>, 4>> costs;
  std::set<std::string> metric_set;
  // Rows and models whose runs' zero-shot average is not the papers' (by its tasks), and those task lists.
  std::set<std::pair<RowKey, std::string>> other_average;
  std::set<std::vector<std::string>> other_average_tasks;
};

// Whether a run's "Avg." covers the papers' six tasks (in any order): only then is it comparable with the
// papers' Avg. column.
bool is_papers_average(std::vector<std::string> tasks) {
  std::vector<std::string> papers = eval::paper_average_tasks();
  std::sort(papers.begin(), papers.end());
  std::sort(tasks.begin(), tasks.end());
  return tasks == papers;
}

// `details`, `average`: the run's result.json "details" and its cell's "zeroshot_average" (eval_size.h).
void add_metrics_of_run(SQLite::Statement& mq, const std::string& run_id, const RowKey& key, const std::string& model,
                        const nlohmann::json& details, const nlohmann::json& average, Collected& c) {
  mq.bind(1, run_id);
  while (mq.executeStep()) {
    const std::string m = mq.getColumn(0).getString();
    if (is_detail_metric(m)) continue;
    c.metric_set.insert(m);
    c.values[{key, {model, m}}].push_back(mq.getColumn(1).isNull() ? NAN : mq.getColumn(1).getDouble());
    const int64_t n = mq.getColumn(3).isNull() ? 0 : mq.getColumn(3).getInt64();
    c.sizes[{key, {model, m}}].push_back(
        {mq.getColumn(2).isNull() ? NAN : mq.getColumn(2).getDouble(), eval_size(details, average, m, n)});
  }
  mq.reset();
}

// The evaluation's size and stderr behind a cell: the fewest documents of its seeds, their mean stderr.
void add_eval_size(const std::vector<std::pair<double, EvalSize>>& runs, Stat& s) {
  double sum = 0;
  int finite = 0;
  for (const auto& [se, size] : runs) {
    if (std::isfinite(se)) sum += se, ++finite;
    if (s.docs == 0 || size.docs < s.docs) s.docs = size.docs;
    s.docs_total = std::max(s.docs_total, size.total);
    s.segments = size.segments;
  }
  if (finite > 0) s.stderr_value = sum / finite;
}

// A run's "size" (ptq/packed_size.h) as the size of its setting on its model; the first run that has one
// gives it (every method stores the same weights at one setting).
void add_size(const nlohmann::json& size, const std::string& setting, const std::string& model, ReportTable& t) {
  if (!size.is_object() || t.sizes.count({setting, model})) return;
  const nlohmann::json bits = size.value("effective_bits_per_weight", size.value("bits_per_weight", nlohmann::json()));
  if (!bits.is_number()) return;
  t.sizes[{setting, model}] = {bits.get<double>(), size.value("size_kind", "") == "theoretical"};
}

Collected collect_runs(store::ResultsDb& db, const std::string& experiment, ReportTable& t) {
  Collected c;
  SQLite::Statement runs(db.db(), R"sql(
SELECT run_id, cell_index, model_id, paper_model, setting, method, label, paper_method, status, COALESCE(error, ''),
       quantize_s, total_s, peak_rss_gb, peak_gpu_gb, numerics,
       COALESCE(json_extract(result_json, '$.cell.paper_row'), label = method),
       COALESCE(json_extract(result_json, '$.details'), 'null'), COALESCE(json_extract(result_json, '$.cell.zeroshot_average'), 'null'),
       COALESCE(json_extract(result_json, '$.provenance.environment'), 'null'),
       COALESCE(json_extract(result_json, '$.size'), 'null')
FROM runs WHERE experiment = ? ORDER BY cell_index, run_id)sql");
  runs.bind(1, experiment);
  SQLite::Statement mq(db.db(), "SELECT metric, value, stderr, n FROM metrics WHERE run_id = ? ORDER BY metric");
  while (runs.executeStep()) {
    const std::string run_id = runs.getColumn(0).getString();
    const int64_t index = runs.getColumn(1).getInt64();
    const std::string model = runs.getColumn(2).getString(), setting = runs.getColumn(4).getString(),
                      label = runs.getColumn(6).getString();
    if (runs.getColumn(8).getString() != "ok") {
      t.failures.push_back(fmt::format("{} {} {}: {}", label, setting, model, runs.getColumn(9).getString()));
      continue;
    }
    const RowKey key{setting, label};
    if (!runs.getColumn(14).isNull() &&
        std::find(t.numerics.begin(), t.numerics.end(), runs.getColumn(14).getString()) == t.numerics.end())
      t.numerics.push_back(runs.getColumn(14).getString());
    // Column 15: the cell's "paper_row"; cells written before it existed: only a row labelled as its method.
    if (!c.row_info.count(key))
      c.row_info[key] = {index, runs.getColumn(5).getString(), runs.getColumn(7).getString(), runs.getColumn(15).getInt() != 0};
    if (!c.model_first.count(model)) {
      c.model_first[model] = index;
      t.paper_model[model] = runs.getColumn(3).getString();
    }
    auto& cost = c.costs[{key, model}];
    for (int k = 0; k < 4; ++k) cost[k].push_back(runs.getColumn(10 + k).isNull() ? NAN : runs.getColumn(10 + k).getDouble());
    const auto json_column = [&](int i) { return nlohmann::json::parse(runs.getColumn(i).getString(), nullptr, false); };
    if (const std::string p = provenance_line(json_column(18));
        !p.empty() && std::find(t.provenance.begin(), t.provenance.end(), p) == t.provenance.end())
      t.provenance.push_back(p);
    const nlohmann::json average = json_column(17);
    if (average.is_array() && !average.empty() && !is_papers_average(average.get<std::vector<std::string>>())) {
      c.other_average.insert({key, model});
      c.other_average_tasks.insert(average.get<std::vector<std::string>>());
    }
    add_metrics_of_run(mq, run_id, key, model, json_column(16), average, c);
    add_size(json_column(19), setting, model, t);
  }
  return c;
}

// Models in plan order; the requested metrics, or every metric found (the canonical ones first).
void choose_columns(const Collected& c, const std::vector<std::string>& metrics, ReportTable& t) {
  for (const auto& [m, i] : c.model_first) t.models.push_back(m);
  std::sort(t.models.begin(), t.models.end(),
            [&](const std::string& a, const std::string& b) { return c.model_first.at(a) < c.model_first.at(b); });
  if (!metrics.empty()) {
    t.metrics = metrics;
    return;
  }
  for (const auto& m : canonical_metrics())
    if (c.metric_set.count(m)) t.metrics.push_back(m);
  for (const auto& m : c.metric_set)
    if (std::find(t.metrics.begin(), t.metrics.end(), m) == t.metrics.end()) t.metrics.push_back(m);
}

// Rows ordered by setting, then by first plan index; ours beside the papers' values; the cost table.
void build_rows(store::ResultsDb& db, const Collected& c, ReportTable& t) {
  std::vector<RowKey> keys;
  for (const auto& [k, info] : c.row_info) keys.push_back(k);
  std::sort(keys.begin(), keys.end(), [&](const RowKey& a, const RowKey& b) {
    if (a.setting != b.setting) return setting_before(a.setting, b.setting);
    return c.row_info.at(a).first < c.row_info.at(b).first;
  });
  for (const auto& k : keys) {
    Row row;
    row.setting = k.setting;
    row.label = k.label;
    const RowInfo& info = c.row_info.at(k);
    row.method = info.method;
    row.paper_method = info.paper_method;
    row.paper_row = info.paper_row;
    for (const auto& model : t.models)
      for (const auto& m : t.metrics) {
        const auto it = c.values.find({k, {model, m}});
        if (it != c.values.end()) {
          row.ours[{model, m}] = summarize(it->second);
          add_eval_size(c.sizes.at({k, {model, m}}), row.ours[{model, m}]);
        }
        if (!row.paper_row || (m == eval::kZeroShotAverage && c.other_average.count({k, model}))) continue;
        const PaperValue p = lookup_paper(db.db(), t.paper_files, t.paper_model[model], k.setting, row.paper_method, m);
        if (p.has()) row.paper[{model, m}] = p;
      }
    for (const auto& model : t.models) {
      const auto it = c.costs.find({k, model});
      if (it == c.costs.end()) continue;
      t.costs.push_back({k.setting, k.label, row.title(), model, summarize(it->second[0]), summarize(it->second[1]),
                         summarize(it->second[2]), summarize(it->second[3])});
    }
    t.rows.push_back(std::move(row));
  }
}

// The papers the table's paper values come from, by the priority of their file, then by name.
std::vector<std::string> paper_sources(const ReportTable& t) {
  std::set<std::pair<size_t, std::string>> used;
  for (const auto& r : t.rows)
    for (const auto& [col, p] : r.paper) {
      const auto f = std::find(t.paper_files.begin(), t.paper_files.end(), p.file);
      used.insert({static_cast<size_t>(f - t.paper_files.begin()), p.paper});
    }
  std::vector<std::string> out;
  for (const auto& [rank, paper] : used)
    if (std::find(out.begin(), out.end(), paper) == out.end()) out.push_back(paper);
  return out;
}

}  // namespace

ReportTable build_report(store::ResultsDb& db, const std::string& experiment, const std::vector<std::string>& metrics) {
  ReportTable t;
  t.experiment = experiment;
  require_runs(db, experiment);
  t.paper_files = declared_paper_files(db, experiment);
  const Collected c = collect_runs(db, experiment, t);
  choose_columns(c, metrics, t);
  build_rows(db, c, t);
  t.paper_sources = paper_sources(t);
  t.best_tests = best_vs_runner_up(db, t);
  const bool has_average = std::find(t.metrics.begin(), t.metrics.end(), eval::kZeroShotAverage) != t.metrics.end();
  if (has_average && !c.other_average_tasks.empty()) {
    std::vector<std::string> covers;
    for (const auto& tasks : c.other_average_tasks) covers.push_back(eval::describe_average(tasks));
    t.average_note = "Avg. of " + join(covers, " / ") + ": not the papers' average, so no paper number beside it";
  }
  return t;
}

}  // namespace ptq::report
