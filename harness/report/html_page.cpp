// `report --format html`: per experiment, the charts first (per model small multiples: chart_data.h,
// svg_chart.h), then the paper-style table, the table of differences from the papers with each value's
// source, the notes, the numerics and provenance of the runs, and their cost. One file: inline CSS and
// SVG, no scripts and no network, readable when printed.
#include "harness/report/chart_data.h"
#include "harness/report/chart_geometry.h"
#include "harness/report/render.h"
#include "harness/report/svg_chart.h"
#include "harness/report/table_text.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace ptq::report {

namespace {

const char* const kStyle = R"(<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1500px; }
h2 { border-bottom: 1px solid #bbb; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; font-size: 14px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th { border-bottom: 2px solid #444; }
td.l, th.l { text-align: left; }
td.paper { color: #666; } td.delta { color: #666; font-size: 90%; }
.se { color: #777; font-size: 75%; margin-left: 2px; }
sup.ns { color: #a55; cursor: help; }
tr.group td { border-top: 2px solid #999; }
.note { color: #555; font-size: 90%; max-width: 70em; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; align-items: center; font-size: 13px; margin: 0.5em 0; }
.legend span { display: inline-flex; align-items: center; gap: 4px; }
.row { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 8px; }
.figure { margin: 1em 0 2em 0; }
svg.panel { background: #fff; }
ul.prov { font-size: 90%; color: #444; }
@media print {
  body { margin: 0.5cm; font-size: 10pt; max-width: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  .figure, .row, svg.panel { break-inside: avoid; page-break-inside: avoid; }
  table { font-size: 8pt; } th, td { padding: 1px 4px; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
</style>)";

std::string legend(const ChartFigure& f, bool any_paper) {
  std::string s = "<div class=\"legend\">";
  for (size_t i = 0; i < f.series.size(); ++i)
    s += fmt::format("<span>{}{}</span>", svg_legend_icon(i), html_escape(f.series[i]));
  if (any_paper) s += fmt::format("<span>{}paper's number (hollow, the series' colour)</span>", svg_legend_icon(0, true));
  s += R"(<span><svg class="icon" width="30" height="16" aria-hidden="true"><line x1="1" y1="8" x2="29" y2="8" stroke="#000" stroke-dasharray="5,4"/></svg>FP model</span>)";
  s += R"(<span><svg class="icon" width="16" height="16" aria-hidden="true"><path d="M8,2L3,12L13,12Z" fill="#555"/></svg>beyond the axis (value beside it)</span>)";
  return s + "</div>\n";
}

bool figure_has_paper(const ChartFigure& f) {
  for (const auto& p : f.panels)
    for (const auto& s : p.series)
      for (const auto& pt : s.points)
        if (pt.paper.has()) return true;
  return false;
}

std::string figure(const ReportTable& t, const std::string& model, size_t figure_id) {
  const ChartFigure f = build_figure(t, model);
  if (f.panels.empty()) return "";
  const std::string pm = t.paper_model.count(model) ? t.paper_model.at(model) : "";
  std::string s = fmt::format("<div class=\"figure\">\n<h3>{}{}</h3>\n", html_escape(model), pm.empty() ? "" : " (paper: " + html_escape(pm) + ")");
  s += legend(f, figure_has_paper(f));
  for (size_t a = 0; a < f.abits.size(); ++a) {
    s += "<div class=\"row\">";
    for (size_t m = 0; m < f.metrics.size(); ++m) s += svg_panel(f, f.panels[a * f.metrics.size() + m], figure_id);
    s += "</div>\n";
  }
  s += fmt::format(
      "<p class=\"note\">Our values as filled markers with &plusmn; one standard error of the evaluation; points of one "
      "weight-bit width are spread sideways by series. Linear y axes with 1-2-5 ticks, showing at most {:g}&times; the FP "
      "value (perplexity) or down to FP/{:g} (accuracy), or the median of the panel without FP; values beyond are arrows at "
      "the edge with their value. Hover a marker for its value, stderr and n.</p>\n</div>\n",
      kClipFactor, kClipFactor);
  return s;
}

// "5.72<span class=se>±0.05</span>" with a tooltip naming the stderr and the documents behind the value;
// a bold best that is not significantly better than the runner-up gets ≈ with the test in its tooltip.
std::string ours_cell(const ReportTable& t, const Row& r, const Column& col, const CellText& c) {
  if (c.mean.empty()) return "<td>&ndash;</td>";
  const Stat& s = r.ours.at(col);
  std::vector<std::string> tip;
  if (std::isfinite(s.stderr_value)) tip.push_back(fmt::format("stderr {:.4f}", s.stderr_value));
  if (s.docs > 0)
    tip.push_back(s.partial() ? fmt::format("n = {} of {} {} (--limit)", s.docs, s.docs_total, s.segments ? "segments" : "documents")
                              : fmt::format("n = {} {}", s.docs, s.segments ? "segments" : "documents"));
  if (s.n > 1) tip.push_back(fmt::format("mean of {} seeds", s.n));
  std::string v = c.bold ? "<b>" + c.mean + "</b>" : c.mean;
  if (c.approx)
    v += fmt::format("<sup class=\"ns\" title=\"{}\">{}</sup>", html_escape(t.best_tests.at({r.setting, col}).describe()),
                     html_marks().approx);
  if (c.partial) v += html_marks().section;
  if (c.has_std) v += " &plusmn; " + c.std;
  else if (std::isfinite(s.stderr_value)) v += fmt::format("<span class=\"se\">&plusmn;{:.2f}</span>", s.stderr_value);
  return fmt::format("<td title=\"{}\">{}</td>", html_escape(join(tip, ", ")), v);
}

std::string main_table(const ReportTable& t, const Layout& l) {
  const bool bits = has_bits_column(t);  // after the setting it describes
  std::string s = std::string("<table>\n<tr><th class=\"l\">Setting</th>") + (bits ? "<th>bits/w</th>" : "") +
                  "<th class=\"l\">Method</th>";
  for (size_t ci = 0; ci < l.cols.size(); ++ci) {
    s += fmt::format("<th>{}</th>", html_escape(column_title(t, l.cols[ci])));
    if (l.paper[ci]) s += "<th>paper</th><th>&Delta;</th>";
  }
  s += "</tr>\n";
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const Row& r = t.rows[i];
    const bool first = i == 0 || t.rows[i - 1].setting != r.setting;
    s += fmt::format("<tr{}><td class=\"l\">{}</td>{}<td class=\"l\">{}</td>", first && i > 0 ? " class=\"group\"" : "",
                     first ? html_escape(r.setting) : "",
                     bits ? fmt::format("<td>{}</td>", first ? html_escape(bits_text(t, r.setting)) : "") : "",
                     html_escape(r.title()));
    for (size_t ci = 0; ci < l.cols.size(); ++ci) {
      const CellText c = cell_text(r, i, l, ci);
      s += ours_cell(t, r, l.cols[ci], c);
      if (!l.paper[ci]) continue;
      const auto p = r.paper.find(l.cols[ci]);
      const std::string title = p != r.paper.end() ? html_escape(p->second.paper + ", " + p->second.table) : "";
      s += fmt::format("<td class=\"paper\" title=\"{}\">{}</td><td class=\"delta\">{}</td>", title, paper_cell(c, html_marks()), c.delta);
    }
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

// Every value a paper reports beside ours: the difference and where the paper's number comes from.
std::string delta_table(const ReportTable& t, const Layout& l) {
  std::string rows;
  for (size_t i = 0; i < t.rows.size(); ++i)
    for (size_t ci = 0; ci < l.cols.size(); ++ci) {
      const Row& r = t.rows[i];
      const CellText c = cell_text(r, i, l, ci);
      if (c.paper.empty()) continue;
      const PaperValue& p = r.paper.at(l.cols[ci]);
      const auto it = r.ours.find(l.cols[ci]);
      const std::string n = it != r.ours.end() && it->second.docs > 0
                                ? (it->second.partial() ? fmt::format("{} of {}", it->second.docs, it->second.docs_total) : std::to_string(it->second.docs))
                                : "";
      rows += fmt::format(
          "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "<td class=\"l\">{}</td></tr>\n",
          html_escape(r.setting), html_escape(r.title()), html_escape(column_title(t, l.cols[ci])), c.mean.empty() ? "&ndash;" : c.mean,
          c.partial ? html_marks().section : "", n, paper_cell(c, html_marks()), c.delta,
          html_escape(p.paper + (p.table.empty() ? "" : ", " + p.table) + (p.file.empty() ? "" : " (" + p.file + ")")));
    }
  if (rows.empty()) return "";
  return "<h3>&Delta; vs paper</h3>\n<table>\n<tr><th class=\"l\">Setting</th><th class=\"l\">Method</th><th class=\"l\">Metric</th>"
         "<th>ours</th><th>n</th><th>paper</th><th>&Delta;</th><th class=\"l\">source (paper, table, file)</th></tr>\n" + rows + "</table>\n";
}

// The documents or segments behind the values: one entry per metric and size.
std::string sizes_note(const ReportTable& t) {
  std::vector<std::string> parts;
  for (const auto& [metric, s] : evaluation_sizes(t, /*partial_only=*/false))
    parts.push_back(fmt::format("{} {}{} {}", metric_title(metric), s.docs, s.partial() ? fmt::format(" of {}", s.docs_total) : "",
                                s.segments ? "segments" : "documents"));
  return parts.empty() ? "" : "n (evaluated): " + join(parts, ", ");
}

std::string notes(const ReportTable& t, const Layout& l) {
  std::vector<std::string> n = {"Perplexity: lower is better; accuracies in %; bold: best per setting",
                                "small &plusmn;: the evaluation's standard error (hover a value for it and n)"};
  if (l.any_seeds) n.push_back("&plusmn; in full size: sample std over calibration seeds");
  for (const auto& p : paper_notes(t, l, html_marks(), html_escape)) n.push_back(p);
  if (std::any_of(l.paper.begin(), l.paper.end(), [](bool b) { return b; })) n.push_back("&Delta; = ours &minus; paper");
  if (const auto p = partial_note(t, html_marks()); !p.empty()) n.push_back(p);
  if (!t.average_note.empty()) n.push_back(html_escape(t.average_note));
  if (const auto b = best_note(t, l, html_marks()); !b.empty()) n.push_back(b);
  if (const auto s = sizes_note(t); !s.empty()) n.push_back(s);
  if (const auto b = bits_note(t, html_escape); !b.empty()) n.push_back(b);
  return "<p class=\"note\">" + join(n, "; ") + ".</p>\n";
}

std::string provenance(const ReportTable& t) {
  if (t.numerics.empty() && t.provenance.empty()) return "";
  std::string s = "<h3>numerics and provenance</h3>\n<ul class=\"prov\">\n";
  for (const auto& p : t.provenance) s += "<li>" + html_escape(p) + "</li>\n";
  if (t.provenance.empty())
    for (const auto& n : t.numerics) s += "<li>numerics " + html_escape(n) + "</li>\n";
  return s + "</ul>\n";
}

std::string costs(const ReportTable& t) {
  std::string s;
  if (!t.costs.empty()) s = "<h3>wall time and memory</h3>\n<table><tr><th class=\"l\">Setting</th><th class=\"l\">Method</th>"
                  "<th class=\"l\">Model</th><th>quantize</th><th>total</th><th>peak RSS</th><th>peak GPU</th></tr>\n";
  for (const auto& c : t.costs)
    s += fmt::format("<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                     html_escape(c.setting), html_escape(c.title), html_escape(c.model), cost_text(c.quantize_s, " s"),
                     cost_text(c.total_s, " s"), cost_text(c.peak_rss_gb, " GB"), cost_text(c.peak_gpu_gb, " GB"));
  if (!t.costs.empty()) s += "</table>\n";
  if (t.failures.empty()) return s;
  s += "<p class=\"note\">Failed runs (re-run the experiment to retry them):</p><ul>\n";
  for (const auto& f : t.failures) s += "<li>" + html_escape(f) + "</li>\n";
  return s + "</ul>\n";
}

std::string experiment_section(const ReportTable& t, const RenderOptions& o, size_t& figure_id) {
  const Layout l = layout(t, o);
  std::string s = fmt::format("<h2>{}", html_escape(t.experiment));
  if (t.models.size() == 1) {
    const std::string pm = t.paper_model.count(t.models[0]) ? t.paper_model.at(t.models[0]) : "";
    s += " &mdash; " + html_escape(t.models[0]) + (pm.empty() ? "" : " (paper: " + html_escape(pm) + ")");
  }
  s += "</h2>\n";
  for (const auto& model : t.models) s += figure(t, model, figure_id++);
  s += main_table(t, l) + notes(t, l) + delta_table(t, l) + provenance(t) + costs(t);
  return s;
}

}  // namespace

std::string render_html(const std::vector<ReportTable>& tables, const RenderOptions& o) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ptqbench report</title>\n";
  out += std::string(kStyle) + "</head><body>\n<h1>ptqbench report</h1>\n";
  size_t figure_id = 0;
  for (const auto& t : tables) out += experiment_section(t, o, figure_id);
  return out + "</body></html>\n";
}

}  // namespace ptq::report
