#include "harness/report/regress.h"

#include "evaluators/evaluator.h"
#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/io/sha256.h"
#include "harness/report/report_table.h"
#include "harness/store/results_db.h"
#include "harness/util/errors.h"
#include "harness/util/runtime.h"
#include "harness/util/strict_json.h"
#include "harness/util/text.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

namespace fs = std::filesystem;

namespace ptq::report {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Key = std::tuple<std::string, std::string, std::string, std::string>;  // model, setting, method, metric

nlohmann::json key_json(const Key& k) {
  return {{"model", std::get<0>(k)}, {"setting", std::get<1>(k)}, {"method", std::get<2>(k)}, {"metric", std::get<3>(k)}};
}

// One metric as one side of the comparison sees it: a value (mean over seeds), its standard error, and,
// when known, the per-example values and (for the zero-shot average) the metrics it averages.
struct Observed {
  double value = kNaN, se = kNaN;
  int64_t n = 0;
  std::optional<store::MetricSamples> samples;
  std::vector<std::string> parts;
};

// Per-example mean over seeds, on the examples every seed scored.
std::optional<store::MetricSamples> mean_over_runs(const std::vector<store::MetricSamples>& runs) {
  if (runs.empty()) return std::nullopt;
  std::map<int64_t, std::pair<double, size_t>> by_id;
  for (const auto& r : runs)
    for (size_t i = 0; i < r.ids.size(); ++i) {
      auto& [sum, count] = by_id[r.ids[i]];
      sum += r.values[i];
      ++count;
    }
  store::MetricSamples out;
  out.kind = runs.front().kind;
  for (const auto& [id, sc] : by_id)
    if (sc.second == runs.size()) {
      out.ids.push_back(id);
      out.values.push_back(sc.first / static_cast<double>(runs.size()));
    }
  return out;
}

std::map<Key, Observed> current_observations(store::ResultsDb& db, const std::string& experiment,
                                             std::set<std::string>& numerics) {
  struct Rows {
    std::vector<double> values, ses;
    int64_t n = 0;
    std::vector<store::MetricSamples> samples;
    size_t runs_with_samples = 0;
    std::vector<std::string> parts;
  };
  std::map<Key, Rows> rows;
  SQLite::Statement q(db.db(), R"sql(
SELECT r.model_id, r.setting, r.label, m.metric, m.value, m.stderr, m.n, r.numerics, s.kind, s.samples_json,
       json_extract(r.result_json, '$.cell.zeroshot_average')
FROM runs r JOIN metrics m ON m.run_id = r.run_id
LEFT JOIN metric_samples s ON s.run_id = r.run_id AND s.metric = m.metric
WHERE r.experiment = ? AND r.status = 'ok' AND m.value IS NOT NULL
ORDER BY r.model_id, r.setting, r.label, m.metric, r.run_id)sql");
  q.bind(1, experiment);
  while (q.executeStep()) {
    const std::string metric = q.getColumn(3).getString();
    if (is_detail_metric(metric)) continue;
    Rows& r = rows[{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(), metric}];
    r.values.push_back(q.getColumn(4).getDouble());
    r.ses.push_back(q.getColumn(5).isNull() ? kNaN : q.getColumn(5).getDouble());
    r.n = q.getColumn(6).isNull() ? 0 : q.getColumn(6).getInt64();
    numerics.insert(q.getColumn(7).isNull() ? "unknown (recorded before numerics provenance)" : q.getColumn(7).getString());
    if (!q.getColumn(9).isNull()) {
      r.samples.push_back(store::MetricSamples::from_json(nlohmann::json::parse(q.getColumn(9).getString()),
                                                          db.path() + ": metric_samples of " + metric));
    }
    if (metric == "zeroshot_avg" && !q.getColumn(10).isNull())
      r.parts = nlohmann::json::parse(q.getColumn(10).getString()).get<std::vector<std::string>>();
  }
  std::map<Key, Observed> out;
  for (auto& [key, r] : rows) {
    Observed o;
    const double k = static_cast<double>(r.values.size());
    o.value = 0;
    double var = 0;
    for (size_t i = 0; i < r.values.size(); ++i) {
      o.value += r.values[i] / k;
      var += r.ses[i] * r.ses[i];  // NaN propagates: no stderr for the mean unless every seed has one
    }
    o.se = std::sqrt(var) / k;
    o.n = r.n;
    if (r.samples.size() == r.values.size()) o.samples = mean_over_runs(r.samples);
    o.parts = r.parts;
    out[key] = std::move(o);
  }
  return out;
}

std::map<Key, Observed> baseline_observations(const Baseline& b) {
  std::map<Key, Observed> out;
  for (const auto& m : b.metrics) {
    const Key key{m["model"], m["setting"], m["method"], m["metric"]};
    Observed o;
    o.value = m["value"].get<double>();
    o.se = m.contains("stderr") && m["stderr"].is_number() ? m["stderr"].get<double>() : kNaN;
    o.n = m.value("n", int64_t{0});
    if (m.contains("of")) o.parts = m["of"].get<std::vector<std::string>>();
    const auto it = b.samples.find(metric_key(m));
    if (it != b.samples.end()) o.samples = it->second;
    out[key] = std::move(o);
  }
  return out;
}

}  // namespace

PairedPart pair_samples(const store::MetricSamples& base, const store::MetricSamples& cur) {
  std::map<int64_t, double> b;
  for (size_t i = 0; i < base.ids.size(); ++i) b[base.ids[i]] = base.values[i];
  std::map<int64_t, double> c;
  for (size_t i = 0; i < cur.ids.size(); ++i) c[cur.ids[i]] = cur.values[i];
  PairedPart p;
  for (const auto& [id, v] : b) {
    const auto it = c.find(id);
    if (it == c.end()) continue;
    p.baseline.push_back(v);
    p.current.push_back(it->second);
  }
  return p;
}

namespace {

// The test for one metric: paired where both sides have samples, else stderr-based, else none.
void test_metric(Finding& f, const Observed& base, const Observed& cur, const std::map<Key, Observed>& base_all,
                 const std::map<Key, Observed>& cur_all) {
  const double scale = eval::evaluators().higher_is_better(f.metric) ? 100.0 : 1.0;  // accuracies are stored in percent
  if (base.samples && cur.samples && base.samples->kind == cur.samples->kind) {
    const PairedPart p = pair_samples(*base.samples, *cur.samples);
    f.paired_examples = static_cast<int64_t>(p.baseline.size());
    f.test = base.samples->kind == "binary" ? paired_test(p.baseline, p.current) : paired_t_test(p.baseline, p.current);
    f.test.effect *= scale;
    f.basis = "paired";
    return;
  }
  if (!base.parts.empty() && base.parts == cur.parts) {  // the zero-shot average, task by task
    std::vector<PairedPart> parts;
    for (const auto& task : base.parts) {
      const Key k{f.model, f.setting, f.method, task};
      const auto b = base_all.find(k), c = cur_all.find(k);
      if (b == base_all.end() || c == cur_all.end() || !b->second.samples || !c->second.samples) break;
      parts.push_back(pair_samples(*b->second.samples, *c->second.samples));
      f.paired_examples += static_cast<int64_t>(parts.back().baseline.size());
    }
    if (parts.size() == base.parts.size()) {
      f.test = average_of_parts_test(parts);
      f.test.effect *= scale;
      f.basis = "paired";
      return;
    }
    f.paired_examples = 0;
  }
  f.test = stderr_z_test(base.value, base.se, cur.value, cur.se);
  f.basis = f.test.method == "none" ? "tolerance only" : "stderr";
}

// Beyond the tolerance in the worse (-1) or better (+1) direction, or within it (0).
int beyond_tolerance(const Finding& f, const Tolerance& tol) {
  if (!eval::evaluators().higher_is_better(f.metric)) {
    if (f.current > f.baseline * (1 + tol.ppl_rel)) return -1;
    if (f.current < f.baseline * (1 - tol.ppl_rel)) return 1;
    return 0;
  }
  if (f.current < f.baseline - tol.acc_abs) return -1;
  if (f.current > f.baseline + tol.acc_abs) return 1;
  return 0;
}

bool same_samples(const Observed& a, const Observed& b) {
  if (!a.samples || !b.samples) return true;  // nothing to compare beyond the value
  return a.samples->ids == b.samples->ids && a.samples->values == b.samples->values;
}

Finding::Kind classify(const Finding& f, const Tolerance& tol, double alpha) {
  const int direction = beyond_tolerance(f, tol);
  if (direction == 0) return Finding::kWithin;
  const bool decided = std::isnan(f.p_holm) || f.p_holm < alpha;  // no test: the tolerance alone decides
  if (!decided) return Finding::kNoise;
  return direction < 0 ? Finding::kRegressed : Finding::kImproved;
}

std::string tolerance_text(const Finding& f, const Tolerance& tol) {
  return eval::evaluators().higher_is_better(f.metric) ? fmt::format("{:g} points", tol.acc_abs) : fmt::format("{:g}%", 100 * tol.ppl_rel);
}

}  // namespace

std::string test_name(const std::string& method) {
  if (method == "mcnemar") return "exact McNemar";
  if (method == "paired-t") return "paired t-test";
  if (method == "paired-z") return "paired z-test over tasks";
  if (method == "stderr-z") return "z-test on standard errors";
  return method;
}

namespace {

std::string evidence(const Finding& f, double alpha) {
  if (std::isnan(f.test.p)) return fmt::format("{}: {}", f.basis, f.test.detail);
  const std::string paired = f.basis == "paired" ? fmt::format(" on {} paired examples", f.paired_examples) : "";
  return fmt::format("{}{}: {}; p={:.2g}, Holm p={:.2g} {} alpha {:g}", test_name(f.test.method), paired, f.test.detail,
                     f.test.p, f.p_holm, f.p_holm < alpha ? "<" : ">=", alpha);
}

void add_numerics_notices(RegressResult& res, const Baseline& b, const std::set<std::string>& current) {
  const std::set<std::string> base(b.numerics.begin(), b.numerics.end());
  if (base.empty()) {
    res.notices.push_back("the baseline does not record its numerics (written before numerics provenance)");
  } else if (base != current) {
    std::vector<std::string> bl(base.begin(), base.end()), cl(current.begin(), current.end());
    res.notices.push_back(fmt::format("numerics differ: baseline {}; current {}: last digits may differ without any "
                                      "change in the code (docs/numerics.md)",
                                      fmt::join(bl, " + "), fmt::join(cl, " + ")));
  }
  for (const auto& c : current)
    if (c.rfind("native", 0) == 0) {
      res.notices.push_back("current results were computed in native numerics: digits depend on the CPU and threads");
      break;
    }
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
    if (!kind.empty() && kind != "ppl" && kind != "acc") {
      const std::string hint = closest_match(kind, {"ppl", "acc"});
      throw InputError(fmt::format("--tolerance {}: unknown kind '{}'{} (expected ppl=FRACTION and/or acc=POINTS)", text, kind,
                                   hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint)));
    }
    if ((kind != "ppl" && kind != "acc") || !std::isfinite(v) || v < 0)
      throw InputError(fmt::format("--tolerance {}: expected ppl=FRACTION and/or acc=POINTS, e.g. ppl=0.01,acc=1.0", text));
    (kind == "ppl" ? base.ppl_rel : base.acc_abs) = v;
  }
  return base;
}

double parse_alpha(double alpha) {
  if (!(alpha > 0 && alpha < 1)) throw InputError(fmt::format("--alpha {}: expected a significance level in (0, 1), e.g. 0.01", alpha));
  return alpha;
}

std::string Finding::describe(const Tolerance& tol, double alpha) const {
  const bool ppl = !eval::evaluators().higher_is_better(metric);
  const std::string change = ppl ? fmt::format("{:+.2f}%", 100 * (current / baseline - 1))
                                 : fmt::format("{:+.2f} points", current - baseline);
  const std::string what = fmt::format("{} {} {} {}", model, setting, method, metric);
  const std::string values = fmt::format("{:.4f} -> {:.4f} ({}", baseline, current, change);
  switch (kind) {
    case kMissing: return fmt::format("MISSING    {}: baseline {:.4f}, no current result", what, baseline);
    case kDiffers: return fmt::format("DIFFERS    {}: {:.17g} -> {:.17g} (exact comparison)", what, baseline, current);
    case kRegressed: return fmt::format("REGRESSED  {}: {}; tolerance {}; {})", what, values, tolerance_text(*this, tol), evidence(*this, alpha));
    case kImproved: return fmt::format("improved   {}: {}; {})", what, values, evidence(*this, alpha));
    case kNoise:
      return fmt::format("noise      {}: {}, beyond the tolerance of {} but not significant; {})", what, values,
                         tolerance_text(*this, tol), evidence(*this, alpha));
    default: return fmt::format("ok         {}: {}; {})", what, values, evidence(*this, alpha));
  }
}

int RegressResult::count(Finding::Kind kind) const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.kind == kind; }));
}

int RegressResult::regressions() const {
  return count(Finding::kRegressed) + count(Finding::kMissing) + count(Finding::kDiffers);
}

nlohmann::json current_metrics(store::ResultsDb& db, const std::string& experiment,
                               std::map<std::string, store::MetricSamples>* samples, std::vector<std::string>* numerics) {
  std::set<std::string> numerics_seen;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, o] : current_observations(db, experiment, numerics_seen)) {
    nlohmann::json m = key_json(k);
    m["value"] = o.value;
    m["stderr"] = std::isfinite(o.se) ? nlohmann::json(o.se) : nlohmann::json(nullptr);
    m["n"] = o.n;
    if (!o.parts.empty()) m["of"] = o.parts;
    if (samples && o.samples) (*samples)[metric_key(m)] = *o.samples;
    out.push_back(m);
  }
  if (numerics) numerics->assign(numerics_seen.begin(), numerics_seen.end());
  return out;
}

RegressResult regress(store::ResultsDb& db, const Baseline& baseline, const RegressOptions& options) {
  RegressResult res;
  res.tolerance = options.tolerance.value_or(baseline.tolerance.value_or(Tolerance{}));
  res.alpha = options.alpha;
  res.exact = options.exact;
  std::set<std::string> numerics;
  const auto current = current_observations(db, baseline.experiment, numerics);
  const auto base = baseline_observations(baseline);
  add_numerics_notices(res, baseline, numerics);
  if (baseline.samples_file.empty())
    res.notices.push_back(fmt::format("{} stores no per-example samples: metrics are compared in units of their standard "
                                      "errors where it records them, by the tolerance alone where not",
                                      baseline.path));
  for (const auto& [key, b] : base) {
    Finding f;
    std::tie(f.model, f.setting, f.method, f.metric) = key;
    f.baseline = b.value;
    const auto it = current.find(key);
    if (it == current.end()) {
      f.kind = Finding::kMissing;
      f.test.p = f.p_holm = kNaN;
      res.findings.push_back(f);
      continue;
    }
    f.current = it->second.value;
    test_metric(f, b, it->second, base, current);
    if (options.exact && (f.current != f.baseline || !same_samples(b, it->second))) f.kind = Finding::kDiffers;
    res.findings.push_back(f);
  }
  std::vector<double> p;
  for (const auto& f : res.findings) p.push_back(f.kind == Finding::kMissing ? kNaN : f.test.p);
  const std::vector<double> adjusted = holm_adjust(p);
  for (size_t i = 0; i < res.findings.size(); ++i) {
    Finding& f = res.findings[i];
    f.p_holm = adjusted[i];
    if (f.kind != Finding::kMissing && f.kind != Finding::kDiffers) f.kind = classify(f, res.tolerance, res.alpha);
  }
  return res;
}

}  // namespace ptq::report
