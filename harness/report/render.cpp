#include "harness/report/render.h"

#include "evaluators/evaluator.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

namespace ptq::report {

namespace {

// Decimals per column: 2 unless two different values would print alike (tiny models: ppl 1.3275 vs 1.3293).
int column_digits(const ReportTable& t, const Column& c, const RenderOptions& o) {
  if (o.digits >= 0) return o.digits;
  std::set<std::string> distinct;  // values equal to 1e-6 count as one (averages of the same counts)
  std::vector<double> vals;
  for (const auto& r : t.rows) {
    const auto it = r.ours.find(c);
    if (it != r.ours.end() && it->second.has() && distinct.insert(fmt::format("{:.6f}", it->second.mean)).second)
      vals.push_back(it->second.mean);
  }
  for (int d = 2; d < 4; ++d) {
    std::set<std::string> printed;
    for (double v : vals) printed.insert(fmt::format("{:.{}f}", v, d));
    if (printed.size() == vals.size()) return d;
  }
  return 4;
}

// Best value per (setting group, column) among quantized rows, when the group has two or more of them.
std::set<std::pair<size_t, Column>> best_cells(const ReportTable& t, const std::vector<int>& digits) {
  std::set<std::pair<size_t, Column>> best;
  std::vector<Column> cols;
  for (const auto& m : t.models)
    for (const auto& metric : t.metrics) cols.push_back({m, metric});
  for (size_t begin = 0; begin < t.rows.size();) {
    size_t end = begin;
    while (end < t.rows.size() && t.rows[end].setting == t.rows[begin].setting) ++end;
    for (size_t ci = 0; ci < cols.size(); ++ci) {
      const Column& c = cols[ci];
      const bool lower = !eval::evaluators().higher_is_better(c.second);
      std::vector<std::pair<std::string, size_t>> cand;  // compare as printed: ties are all bold
      double best_v = lower ? INFINITY : -INFINITY;
      for (size_t i = begin; i < end; ++i) {
        if (t.rows[i].is_fp()) continue;
        const auto it = t.rows[i].ours.find(c);
        if (it == t.rows[i].ours.end() || !it->second.has()) continue;
        const double v = std::stod(fmt::format("{:.{}f}", it->second.mean, digits[ci]));
        cand.push_back({"", i});
        best_v = lower ? std::min(best_v, v) : std::max(best_v, v);
      }
      if (cand.size() < 2) continue;
      for (const auto& [unused, i] : cand) {
        const double v = std::stod(fmt::format("{:.{}f}", t.rows[i].ours.at(c).mean, digits[ci]));
        if (v == best_v) best.insert({i, c});
      }
    }
    begin = end;
  }
  return best;
}

struct Layout {
  std::vector<Column> cols;
  std::vector<int> digits;
  std::vector<bool> paper;
  std::set<std::pair<size_t, Column>> best;
  bool any_unverified = false, any_seeds = false;
  // paper -> the number marking its values, when they come from two or more papers (one: named in a note).
  std::map<std::string, int> source_number;
  std::vector<std::string> reimplemented_by;  // papers whose own re-implementations of a method appear (‡)
};

Layout layout(const ReportTable& t, const RenderOptions& o) {
  Layout l;
  for (const auto& m : t.models)
    for (const auto& metric : t.metrics) {
      l.cols.push_back({m, metric});
      l.digits.push_back(column_digits(t, l.cols.back(), o));
      l.paper.push_back(t.column_has_paper(l.cols.back()));
    }
  l.best = best_cells(t, l.digits);
  if (t.paper_sources.size() > 1)
    for (size_t i = 0; i < t.paper_sources.size(); ++i) l.source_number[t.paper_sources[i]] = static_cast<int>(i + 1);
  for (const auto& r : t.rows) {
    for (const auto& [c, p] : r.paper) {
      l.any_unverified |= !p.verified;
      if (p.reimplementation && std::find(l.reimplemented_by.begin(), l.reimplemented_by.end(), p.paper) == l.reimplemented_by.end())
        l.reimplemented_by.push_back(p.paper);
    }
    for (const auto& [c, s] : r.ours) l.any_seeds |= s.n > 1;
  }
  return l;
}

std::string fmt_num(double v, int d) { return fmt::format("{:.{}f}", v, d); }
std::string fmt_delta(double v, int d) { return fmt::format("{:+.{}f}", v, d); }

// Our value as text ("12.34" or "12.34 ± 0.05"), the paper's ("12.30" + mark), and the difference.
struct CellText {
  std::string ours, paper, delta;
  bool bold = false, unverified = false, reimplementation = false, has_std = false;
  int source = 0;  // the paper's number in the sources note; 0: the table has one source
  std::string mean, std;
};

CellText cell_text(const Row& r, size_t row_index, const Layout& l, size_t ci) {
  CellText c;
  const Column& col = l.cols[ci];
  const int d = l.digits[ci];
  const auto it = r.ours.find(col);
  if (it != r.ours.end() && it->second.has()) {
    c.mean = fmt_num(it->second.mean, d);
    c.has_std = it->second.n > 1;
    if (c.has_std) c.std = fmt_num(it->second.std, d);
    c.bold = l.best.count({row_index, col}) > 0;
  }
  const auto p = r.paper.find(col);
  if (p != r.paper.end() && p->second.has()) {
    c.paper = fmt_num(p->second.value, 2);
    c.unverified = !p->second.verified;
    c.reimplementation = p->second.reimplementation;
    const auto n = l.source_number.find(p->second.paper);
    c.source = n == l.source_number.end() ? 0 : n->second;
    if (!c.mean.empty()) c.delta = fmt_delta(it->second.mean - p->second.value, 2);
  }
  return c;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

// Ten significant digits: exact enough for any metric, free of binary noise (5.720000000000001).
std::string csv_number(double v) { return std::isfinite(v) ? fmt::format("{:.10g}", v) : ""; }

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '_': out += "\\_"; break;
      case '%': out += "\\%"; break;
      case '&': out += "\\&"; break;
      case '#': out += "\\#"; break;
      case '$': out += "\\$"; break;
      case '{': out += "\\{"; break;
      case '}': out += "\\}"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string column_title(const ReportTable& t, const Column& c) {
  return t.models.size() > 1 ? c.first + " " + metric_title(c.second) : metric_title(c.second);
}

std::string cost_text(const Stat& s, const char* unit) {
  return s.has() ? fmt::format("{:.{}f}{}", s.mean, s.mean < 10 ? 2 : 1, unit) : "-";
}

// How a format writes the marks of a paper value: † unverified, ‡ a re-implementation by the reporting
// paper, and the number of its source in tables that mix papers ("1", "2", ...).
struct MarkStyle {
  std::string dagger, ddagger;
  std::function<std::string(const std::vector<std::string>&)> write;  // one value's marks, in order
};

bool is_number(const std::string& mark) { return !mark.empty() && std::isdigit(static_cast<unsigned char>(mark[0])); }

const MarkStyle& markdown_marks() {
  static const MarkStyle style{"†", "‡", [](const std::vector<std::string>& marks) {
                                 static const char* const digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
                                 std::string out;
                                 for (const auto& m : marks)
                                   if (!is_number(m)) out += m;
                                   else
                                     for (char ch : m) out += digits[ch - '0'];
                                 return out;
                               }};
  return style;
}

// One superscript for all marks ($^{\dagger,2}$): adjacent math groups would be fragile.
const MarkStyle& latex_marks() {
  static const MarkStyle style{"\\dagger", "\\ddagger", [](const std::vector<std::string>& marks) {
                                 return marks.empty() ? std::string() : "$^{" + join(marks, ",") + "}$";
                               }};
  return style;
}

const MarkStyle& html_marks() {
  static const MarkStyle style{"&dagger;", "&Dagger;", [](const std::vector<std::string>& marks) {
                                 std::string out;
                                 for (const auto& m : marks) out += is_number(m) ? "<sup>" + m + "</sup>" : m;
                                 return out;
                               }};
  return style;
}

std::string paper_cell(const CellText& c, const MarkStyle& style) {
  if (c.paper.empty()) return "";
  std::vector<std::string> marks;
  if (c.unverified) marks.push_back(style.dagger);
  if (c.reimplementation) marks.push_back(style.ddagger);
  if (c.source) marks.push_back(std::to_string(c.source));
  return c.paper + style.write(marks);
}

// The notes on paper values, as plain text: where they come from (one paper: its name; several: each
// with its mark), what † and ‡ mean. `esc` escapes a paper's name for the format.
std::vector<std::string> paper_notes(const ReportTable& t, const Layout& l, const MarkStyle& style,
                                     const std::function<std::string(const std::string&)>& esc) {
  std::vector<std::string> notes;
  if (t.paper_sources.size() == 1) notes.push_back("paper: the number " + esc(t.paper_sources[0]) + " reports");
  if (t.paper_sources.size() > 1) {
    std::vector<std::string> named;
    for (const auto& p : t.paper_sources) named.push_back(style.write({std::to_string(l.source_number.at(p))}) + " " + esc(p));
    notes.push_back("paper: the number the marked paper reports (" + join(named, ", ") + ")");
  }
  if (l.any_unverified)
    notes.push_back(style.write({style.dagger}) + " paper number from a garbled or secondary source (verified: false)");
  std::vector<std::string> by;
  for (const auto& p : l.reimplemented_by) by.push_back(esc(p));
  if (!by.empty())
    notes.push_back(style.write({style.ddagger}) + " re-implementation by " + join(by, ", ") +
                    ", not a number from the method's own paper");
  return notes;
}

std::string md_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                     const std::vector<bool>& right) {
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = utf8_width(header[i]);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], utf8_width(r[i]));
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (size_t i = 0; i < cells.size(); ++i) {
      const std::string pad(w[i] - utf8_width(cells[i]), ' ');
      s += " " + (right[i] ? pad + cells[i] : cells[i] + pad) + " |";
    }
    return s + "\n";
  };
  std::string out = line(header);
  out += "|";
  for (size_t i = 0; i < header.size(); ++i) out += (right[i] ? std::string(w[i] + 1, '-') + ":" : ":" + std::string(w[i] + 1, '-')) + "|";
  out += "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

}  // namespace

Format parse_format(const std::string& name) {
  if (name == "md" || name == "markdown") return Format::kMarkdown;
  if (name == "latex" || name == "tex") return Format::kLatex;
  if (name == "csv") return Format::kCsv;
  if (name == "html") return Format::kHtml;
  throw InputError(fmt::format("--format {}: unknown format (expected md, latex, csv or html)", name));
}

std::string render_markdown(const ReportTable& t, const RenderOptions& o) {
  const Layout l = layout(t, o);
  std::string out = fmt::format("## {}", t.experiment);
  if (t.models.size() == 1)
    out += fmt::format(" — {}{}", t.models[0],
                       t.paper_model.at(t.models[0]).empty() ? "" : fmt::format(" (paper: {})", t.paper_model.at(t.models[0])));
  out += "\n\n";
  std::vector<std::string> header = {"Setting", "Method"};
  std::vector<bool> right = {false, false};
  for (size_t ci = 0; ci < l.cols.size(); ++ci) {
    header.push_back(column_title(t, l.cols[ci]));
    right.push_back(true);
    if (l.paper[ci]) {
      header.insert(header.end(), {"paper", "Δ"});
      right.insert(right.end(), {true, true});
    }
  }
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const Row& r = t.rows[i];
    const bool first = i == 0 || t.rows[i - 1].setting != r.setting;
    std::vector<std::string> cells = {first ? r.setting : "", r.title()};
    for (size_t ci = 0; ci < l.cols.size(); ++ci) {
      const CellText c = cell_text(r, i, l, ci);
      std::string ours = c.mean.empty() ? "-" : (c.bold ? "**" + c.mean + "**" : c.mean);
      if (c.has_std) ours += " ± " + c.std;
      cells.push_back(ours);
      if (l.paper[ci]) {
        cells.push_back(paper_cell(c, markdown_marks()));
        cells.push_back(c.delta);
      }
    }
    rows.push_back(cells);
  }
  out += md_table(header, rows, right);
  std::vector<std::string> notes;
  if (l.any_seeds) notes.push_back("mean ± sample std over calibration seeds");
  if (std::any_of(l.paper.begin(), l.paper.end(), [](bool b) { return b; })) {
    auto paper = paper_notes(t, l, markdown_marks(), [](const std::string& x) { return x; });
    paper.insert(paper.begin() + (paper.empty() ? 0 : 1), "Δ = ours − paper");  // after the sources note
    notes.insert(notes.end(), paper.begin(), paper.end());
  }
  notes.push_back("perplexity: lower is better; accuracies in %; bold: best per setting");
  out += "\n" + join(notes, "; ") + ".\n";

  // Cost table.
  out += "\n### wall time and memory\n\n";
  const bool gpu = std::any_of(t.costs.begin(), t.costs.end(), [](const CostRow& c) { return c.peak_gpu_gb.has(); });
  std::vector<std::string> ch = {"Setting", "Method", "Model", "quantize", "total", "peak RSS"};
  if (gpu) ch.push_back("peak GPU");
  std::vector<std::vector<std::string>> crows;
  for (const auto& c : t.costs) {
    std::vector<std::string> row = {c.setting, c.title, c.model, cost_text(c.quantize_s, " s"),
                                    cost_text(c.total_s, " s"), cost_text(c.peak_rss_gb, " GB")};
    if (gpu) row.push_back(cost_text(c.peak_gpu_gb, " GB"));
    crows.push_back(row);
  }
  out += md_table(ch, crows, {false, false, false, true, true, true, true});
  if (!t.failures.empty()) {
    out += fmt::format("\n{} failed run(s) (re-run the experiment to retry them):\n", t.failures.size());
    for (const auto& f : t.failures) out += "- " + f + "\n";
  }
  if (!t.numerics.empty()) out += "\nnumerics: " + join(t.numerics, "; ") + "\n";
  return out;
}

std::string render_latex(const ReportTable& t, const RenderOptions& o) {
  const Layout l = layout(t, o);
  size_t ncols = 0;
  std::string spec = "ll";
  for (size_t ci = 0; ci < l.cols.size(); ++ci) {
    spec += l.paper[ci] ? "rrr" : "r";
    ncols += l.paper[ci] ? 3 : 1;
  }
  std::string out;
  out += "% generated by ptqbench report; needs \\usepackage{booktabs}\n";
  out += "\\begin{table}[t]\n\\centering\n";
  out += fmt::format("\\caption{{{}: perplexity (lower is better) and zero-shot accuracy (\\%).}}\n", latex_escape(t.experiment));
  out += fmt::format("\\begin{{tabular}}{{{}}}\n\\toprule\n", spec);
  // Model header row spanning each model's columns.
  std::string models_row = " & ";
  std::string rules;
  size_t col = 3;
  for (const auto& m : t.models) {
    size_t span = 0;
    for (size_t ci = 0; ci < l.cols.size(); ++ci)
      if (l.cols[ci].first == m) span += l.paper[ci] ? 3 : 1;
    const std::string pm = t.paper_model.at(m);
    models_row += fmt::format(" & \\multicolumn{{{}}}{{c}}{{{}}}", span, latex_escape(pm.empty() ? m : m + " (" + pm + ")"));
    rules += fmt::format("\\cmidrule(lr){{{}-{}}}", col, col + span - 1);
    col += span;
  }
  out += models_row + " \\\\\n" + rules + "\n";
  std::string header = "Setting & Method";
  for (size_t ci = 0; ci < l.cols.size(); ++ci) {
    header += " & " + latex_escape(metric_title(l.cols[ci].second));
    if (l.paper[ci]) header += " & paper & $\\Delta$";
  }
  out += header + " \\\\\n\\midrule\n";
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const Row& r = t.rows[i];
    const bool first = i == 0 || t.rows[i - 1].setting != r.setting;
    if (first && i > 0) out += "\\midrule\n";
    std::string line = (first ? latex_escape(r.setting) : "") + " & " + latex_escape(r.title());
    for (size_t ci = 0; ci < l.cols.size(); ++ci) {
      const CellText c = cell_text(r, i, l, ci);
      std::string ours = c.mean.empty() ? "--" : (c.bold ? "\\textbf{" + c.mean + "}" : c.mean);
      if (c.has_std) ours += "$\\pm$" + c.std;
      line += " & " + ours;
      if (l.paper[ci])
        line += " & " + paper_cell(c, latex_marks()) + " & " + c.delta;
    }
    out += line + " \\\\\n";
  }
  out += "\\bottomrule\n\\end{tabular}\n";
  const auto notes = paper_notes(t, l, latex_marks(), latex_escape);
  if (!notes.empty()) out += "\\\\[2pt]{\\footnotesize " + join(notes, "; ") + ".}\n";
  out += "\\end{table}\n";
  (void)ncols;
  return out;
}

std::string render_csv(const std::vector<ReportTable>& tables) {
  std::string out =
      "experiment,model,paper_model,setting,method,metric,value,std,n,paper_value,paper_verified,paper,delta,"
      "paper_reimplementation\n";
  for (const auto& t : tables) {
    for (const auto& r : t.rows)
      for (const auto& m : t.models)
        for (const auto& metric : t.metrics) {
          const Column c{m, metric};
          const auto it = r.ours.find(c);
          const auto p = r.paper.find(c);
          if ((it == r.ours.end() || !it->second.has()) && p == r.paper.end()) continue;
          const Stat s = it == r.ours.end() ? Stat{} : it->second;
          const bool hp = p != r.paper.end() && p->second.has();
          out += join({csv_field(t.experiment), csv_field(m), csv_field(t.paper_model.at(m)), csv_field(r.setting),
                       csv_field(r.label), csv_field(metric), csv_number(s.mean), csv_number(s.std), std::to_string(s.n),
                       hp ? csv_number(p->second.value) : "", hp ? (p->second.verified ? "true" : "false") : "",
                       hp ? csv_field(p->second.paper) : "", hp && s.has() ? csv_number(s.mean - p->second.value) : "",
                       hp ? (p->second.reimplementation ? "true" : "false") : ""},
                      ",") + "\n";
        }
    for (const auto& c : t.costs)
      for (const auto& [name, s] : std::vector<std::pair<std::string, Stat>>{
               {"quantize_s", c.quantize_s}, {"total_s", c.total_s}, {"peak_rss_gb", c.peak_rss_gb}, {"peak_gpu_gb", c.peak_gpu_gb}}) {
        if (!s.has()) continue;
        out += join({csv_field(t.experiment), csv_field(c.model), csv_field(t.paper_model.at(c.model)), csv_field(c.setting),
                     csv_field(c.label), name, csv_number(s.mean), csv_number(s.std), std::to_string(s.n), "", "", "", "", ""},
                    ",") + "\n";
      }
  }
  return out;
}

std::string render_html(const std::vector<ReportTable>& tables, const RenderOptions& o) {
  std::string out = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ptqbench report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 9px; border-bottom: 1px solid #ddd; text-align: right; }
th { border-bottom: 2px solid #444; }
td.l, th.l { text-align: left; }
td.paper { color: #666; } td.delta { color: #666; font-size: 90%; }
tr.group td { border-top: 2px solid #999; }
.note { color: #555; font-size: 90%; }
</style></head><body>
<h1>ptqbench report</h1>
)";
  for (const auto& t : tables) {
    const Layout l = layout(t, o);
    out += fmt::format("<h2>{}</h2>\n<table>\n<tr><th class=\"l\">Setting</th><th class=\"l\">Method</th>", html_escape(t.experiment));
    for (size_t ci = 0; ci < l.cols.size(); ++ci) {
      out += fmt::format("<th>{}</th>", html_escape(column_title(t, l.cols[ci])));
      if (l.paper[ci]) out += "<th>paper</th><th>&Delta;</th>";
    }
    out += "</tr>\n";
    for (size_t i = 0; i < t.rows.size(); ++i) {
      const Row& r = t.rows[i];
      const bool first = i == 0 || t.rows[i - 1].setting != r.setting;
      out += fmt::format("<tr{}><td class=\"l\">{}</td><td class=\"l\">{}</td>", first && i > 0 ? " class=\"group\"" : "",
                         first ? html_escape(r.setting) : "", html_escape(r.title()));
      for (size_t ci = 0; ci < l.cols.size(); ++ci) {
        const CellText c = cell_text(r, i, l, ci);
        std::string ours = c.mean.empty() ? "&ndash;" : (c.bold ? "<b>" + c.mean + "</b>" : c.mean);
        if (c.has_std) ours += " &plusmn; " + c.std;
        out += "<td>" + ours + "</td>";
        if (l.paper[ci]) {
          const auto p = r.paper.find(l.cols[ci]);
          const std::string title = p != r.paper.end() ? html_escape(p->second.paper + ", " + p->second.table) : "";
          out += fmt::format("<td class=\"paper\" title=\"{}\">{}</td><td class=\"delta\">{}</td>", title,
                             paper_cell(c, html_marks()), c.delta);
        }
      }
      out += "</tr>\n";
    }
    out += "</table>\n<p class=\"note\">Perplexity: lower is better; accuracies in %; bold: best per setting.";
    for (const auto& n : paper_notes(t, l, html_marks(), html_escape)) out += " " + n + ".";
    out += "</p>\n";
    std::string ppl_metric;
    for (const auto& m : t.metrics)
      if (!eval::evaluators().higher_is_better(m)) {
        ppl_metric = m;
        break;
      }
    if (!ppl_metric.empty())
      for (const auto& model : t.models) out += svg_ppl_vs_bits(t, model, ppl_metric) + "\n";
    out += "<h3>wall time and memory</h3>\n<table><tr><th class=\"l\">Setting</th><th class=\"l\">Method</th>"
           "<th class=\"l\">Model</th><th>quantize</th><th>total</th><th>peak RSS</th><th>peak GPU</th></tr>\n";
    for (const auto& c : t.costs)
      out += fmt::format("<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td>"
                         "<td>{}</td><td>{}</td></tr>\n",
                         html_escape(c.setting), html_escape(c.title), html_escape(c.model),
                         cost_text(c.quantize_s, " s"), cost_text(c.total_s, " s"), cost_text(c.peak_rss_gb, " GB"),
                         cost_text(c.peak_gpu_gb, " GB"));
    out += "</table>\n";
    if (!t.failures.empty()) {
      out += "<p class=\"note\">Failed runs:</p><ul>\n";
      for (const auto& f : t.failures) out += "<li>" + html_escape(f) + "</li>\n";
      out += "</ul>\n";
    }
  }
  out += "</body></html>\n";
  return out;
}

std::string render(const std::vector<ReportTable>& tables, Format format, const RenderOptions& options) {
  switch (format) {
    case Format::kCsv: return render_csv(tables);
    case Format::kHtml: return render_html(tables, options);
    default: break;
  }
  std::string out;
  for (size_t i = 0; i < tables.size(); ++i) {
    if (i > 0) out += "\n";
    out += format == Format::kLatex ? render_latex(tables[i], options) : render_markdown(tables[i], options);
  }
  return out;
}

}  // namespace ptq::report
