#include "harness/report/chart_data.h"

#include "evaluators/evaluator.h"
#include "harness/ptq/quant_setting.h"
#include "harness/util/errors.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <set>

namespace ptq::report {

namespace {

std::optional<quant::QuantSetting> parse_setting(const std::string& s) {
  try {
    return quant::QuantSetting::parse(s);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

size_t index_of(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<size_t>(std::find(v.begin(), v.end(), x) - v.begin());
}

// The figure's axes and legend: weight bits, activation rows, series names in table order.
void collect_axes(const ReportTable& t, const std::string& model, ChartFigure& f) {
  std::set<int> wbits, abits;
  for (const auto& r : t.rows) {
    const auto q = parse_setting(r.setting);
    if (r.is_fp() || !q || q->is_full_precision()) continue;
    const bool any = std::any_of(f.metrics.begin(), f.metrics.end(), [&](const std::string& m) {
      const auto it = r.ours.find({model, m});
      return it != r.ours.end() && it->second.has();
    });
    if (!any) continue;
    wbits.insert(q->wbits);
    abits.insert(q->abits);
    const std::string name = series_name(r);
    if (index_of(f.series, name) == f.series.size()) f.series.push_back(name);
  }
  f.wbits.assign(wbits.begin(), wbits.end());
  f.abits.assign(abits.rbegin(), abits.rend());
}

double fp_value(const ReportTable& t, const std::string& model, const std::string& metric) {
  for (const auto& r : t.rows) {
    const auto it = r.ours.find({model, metric});
    if (r.is_fp() && it != r.ours.end() && it->second.has()) return it->second.mean;
  }
  return NAN;
}

ChartPanel build_panel(const ReportTable& t, const ChartFigure& f, int abits, const std::string& metric) {
  ChartPanel p;
  p.metric = metric;
  p.abits = abits;
  p.fp = fp_value(t, f.model, metric);
  p.higher_is_better = eval::evaluators().higher_is_better(metric);
  std::vector<ChartSeries> by_style(f.series.size());
  for (const auto& r : t.rows) {
    const auto q = parse_setting(r.setting);
    const auto it = r.ours.find({f.model, metric});
    if (r.is_fp() || !q || q->is_full_precision() || q->abits != abits || it == r.ours.end() || !it->second.has()) continue;
    ChartPoint pt{q->wbits, r.setting, it->second, {}};
    if (const auto pp = r.paper.find({f.model, metric}); pp != r.paper.end()) pt.paper = pp->second;
    const size_t style = index_of(f.series, series_name(r));
    by_style[style].points.push_back(pt);
  }
  for (size_t s = 0; s < by_style.size(); ++s) {
    if (by_style[s].points.empty()) continue;
    by_style[s].name = f.series[s];
    by_style[s].style = s;
    std::sort(by_style[s].points.begin(), by_style[s].points.end(),
              [](const ChartPoint& a, const ChartPoint& b) { return a.wbits < b.wbits; });
    p.series.push_back(by_style[s]);
  }
  return p;
}

}  // namespace

std::string series_name(const Row& r) {
  static const std::regex base("^W[0-9]+A[0-9]+", std::regex::icase);
  const std::string variant = std::regex_replace(r.setting, base, "", std::regex_constants::format_first_only);
  return variant.empty() || variant == r.setting ? r.title() : r.title() + " " + variant;
}

std::vector<std::string> chart_metrics(const ReportTable& t) {
  std::vector<std::string> out;
  for (const char* m : {"wikitext2_ppl", "c4_ppl", "c4_new_ppl", "zeroshot_avg"})
    if (std::find(t.metrics.begin(), t.metrics.end(), m) != t.metrics.end()) out.push_back(m);
  return out;
}

ChartFigure build_figure(const ReportTable& t, const std::string& model) {
  ChartFigure f;
  f.model = model;
  f.metrics = chart_metrics(t);
  collect_axes(t, model, f);
  for (int a : f.abits)
    for (const auto& m : f.metrics) f.panels.push_back(build_panel(t, f, a, m));
  return f;
}

}  // namespace ptq::report
