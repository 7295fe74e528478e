#include "report/regress.h"

#include "io/json_file.h"
#include "run/cell_runner.h"
#include "run/runtime.h"
#include "store/results_db.h"
#include "util/errors.h"
#include "util/strict_json.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <tuple>

namespace ptq::report {

namespace {

using Key = std::tuple<std::string, std::string, std::string, std::string>;  // model, setting, method, metric

bool is_detail(const std::string& m) {
  const auto ends = [&](const std::string& s) { return m.size() > s.size() && m.compare(m.size() - s.size(), s.size(), s) == 0; };
  return ends("_acc") || ends("_acc_norm");
}

std::map<Key, double> current_map(store::ResultsDb& db, const std::string& experiment) {
  std::map<Key, double> out;
  SQLite::Statement q(db.db(), R"sql(
SELECT r.model_id, r.setting, r.label, m.metric, AVG(m.value) FROM runs r JOIN metrics m ON m.run_id = r.run_id
WHERE r.experiment = ? AND r.status = 'ok' AND m.value IS NOT NULL
GROUP BY r.model_id, r.setting, r.label, m.metric ORDER BY r.model_id, r.setting, r.label, m.metric)sql");
  q.bind(1, experiment);
  while (q.executeStep()) {
    const std::string metric = q.getColumn(3).getString();
    if (is_detail(metric)) continue;
    out[{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(), metric}] =
        q.getColumn(4).getDouble();
  }
  return out;
}

}  // namespace

Tolerance parse_tolerance(const std::string& text, Tolerance base) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = part.find('=');
    double v = NAN;
    try {
      size_t used = 0;
      v = std::stod(part.substr(eq + 1), &used);
      if (used != part.size() - eq - 1) v = NAN;
    } catch (const std::logic_error&) {
    }
    const std::string kind = eq == std::string::npos ? "" : part.substr(0, eq);
    if ((kind != "ppl" && kind != "acc") || !std::isfinite(v) || v < 0)
      throw InputError(fmt::format("--tolerance {}: expected ppl=FRACTION and/or acc=POINTS, e.g. ppl=0.01,acc=1.0", text));
    (kind == "ppl" ? base.ppl_rel : base.acc_abs) = v;
  }
  return base;
}

std::string Finding::describe(const Tolerance& tol) const {
  const bool ppl = run::lower_is_better(metric);
  const std::string change = ppl ? fmt::format("{:+.2f}%", 100 * (current / baseline - 1))
                                 : fmt::format("{:+.2f} points", current - baseline);
  const std::string what = fmt::format("{} {} {} {}", model, setting, method, metric);
  switch (kind) {
    case kMissing: return fmt::format("MISSING    {}: baseline {:.4f}, no current result", what, baseline);
    case kRegressed:
      return fmt::format("REGRESSED  {}: {:.4f} -> {:.4f} ({}; tolerance {})", what, baseline, current, change,
                         ppl ? fmt::format("{:g}%", 100 * tol.ppl_rel) : fmt::format("{:g} points", tol.acc_abs));
    case kImproved: return fmt::format("improved   {}: {:.4f} -> {:.4f} ({})", what, baseline, current, change);
    default: return fmt::format("ok         {}: {:.4f} -> {:.4f} ({})", what, baseline, current, change);
  }
}

int RegressResult::regressions() const {
  int n = 0;
  for (const auto& f : findings) n += f.kind == Finding::kRegressed || f.kind == Finding::kMissing;
  return n;
}

nlohmann::json current_metrics(store::ResultsDb& db, const std::string& experiment) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, v] : current_map(db, experiment))
    out.push_back({{"model", std::get<0>(k)}, {"setting", std::get<1>(k)}, {"method", std::get<2>(k)},
                   {"metric", std::get<3>(k)}, {"value", v}});
  return out;
}

nlohmann::json read_baseline(const std::string& path) {
  nlohmann::json b = io::read_json_file(path);
  std::string experiment;
  int format = 1;
  StrictJsonReader r(b, path);
  r.read("format", format);
  r.read("experiment", experiment);
  for (const char* k : {"tolerance", "metrics", "created", "harness_version", "note"}) r.known(k);
  r.finish();
  if (experiment.empty()) throw InputError(fmt::format("{}: missing \"experiment\"", path));
  if (!b.contains("metrics") || !b["metrics"].is_array())
    throw InputError(fmt::format("{}: \"metrics\" must be an array of {{model, setting, method, metric, value}}", path));
  for (size_t i = 0; i < b["metrics"].size(); ++i) {
    const auto& m = b["metrics"][i];
    for (const char* k : {"model", "setting", "method", "metric"})
      if (!m.contains(k) || !m[k].is_string()) throw InputError(fmt::format("{}: metrics[{}].{}: expected a string", path, i, k));
    if (!m.contains("value") || !m["value"].is_number())
      throw InputError(fmt::format("{}: metrics[{}].value: expected a number", path, i));
  }
  if (b.contains("tolerance")) {
    Tolerance t;
    StrictJsonReader tr(b["tolerance"], path + ": tolerance");
    tr.read("ppl", t.ppl_rel);
    tr.read("acc", t.acc_abs);
    tr.finish();
  }
  return b;
}

RegressResult regress(store::ResultsDb& db, const nlohmann::json& baseline, const Tolerance* override_tolerance) {
  RegressResult res;
  if (baseline.contains("tolerance")) {
    res.tolerance.ppl_rel = baseline["tolerance"].value("ppl", res.tolerance.ppl_rel);
    res.tolerance.acc_abs = baseline["tolerance"].value("acc", res.tolerance.acc_abs);
  }
  if (override_tolerance) res.tolerance = *override_tolerance;
  const auto current = current_map(db, baseline.at("experiment").get<std::string>());
  for (const auto& m : baseline.at("metrics")) {
    Finding f{Finding::kWithin, m["model"], m["setting"], m["method"], m["metric"], m["value"].get<double>(), NAN};
    const auto it = current.find({f.model, f.setting, f.method, f.metric});
    if (it == current.end()) {
      f.kind = Finding::kMissing;
    } else {
      f.current = it->second;
      if (run::lower_is_better(f.metric)) {
        if (f.current > f.baseline * (1 + res.tolerance.ppl_rel)) f.kind = Finding::kRegressed;
        else if (f.current < f.baseline * (1 - res.tolerance.ppl_rel)) f.kind = Finding::kImproved;
      } else {
        if (f.current < f.baseline - res.tolerance.acc_abs) f.kind = Finding::kRegressed;
        else if (f.current > f.baseline + res.tolerance.acc_abs) f.kind = Finding::kImproved;
      }
    }
    res.findings.push_back(f);
  }
  return res;
}

nlohmann::json make_baseline(store::ResultsDb& db, const std::string& experiment, const Tolerance& tol) {
  const nlohmann::json metrics = current_metrics(db, experiment);
  if (metrics.empty()) throw InputError(fmt::format("no finished runs of experiment '{}' in {}", experiment, db.path()));
  return {{"format", 1},
          {"experiment", experiment},
          {"harness_version", harness_version()},
          {"note", "written by `ptqbench regress --update`; compare with `ptqbench regress --baseline <this file>`"},
          {"tolerance", {{"ppl", tol.ppl_rel}, {"acc", tol.acc_abs}}},
          {"metrics", metrics}};
}

}  // namespace ptq::report
