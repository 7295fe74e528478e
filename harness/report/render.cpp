#include "harness/report/render.h"

#include "harness/report/table_text.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ptq::report {

namespace {

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

// The p-value of the setting's best against its runner-up, on the best's row; empty elsewhere and untested.
std::string best_vs_next_p(const ReportTable& t, const Row& r, const Column& c) {
  const auto it = t.best_tests.find({r.setting, c});
  return it != t.best_tests.end() && it->second.best == r.label ? csv_number(it->second.test.p) : "";
}

// effective_bits_per_weight,bits_theoretical of a setting on a model (ReportTable::sizes); empty when not recorded.
std::string size_fields(const ReportTable& t, const std::string& setting, const std::string& model) {
  const auto it = t.sizes.find({setting, model});
  if (it == t.sizes.end() || !it->second.has()) return ",";
  return csv_number(it->second.bits_per_weight) + "," + (it->second.theoretical ? "true" : "false");
}

}  // namespace

Format parse_format(const std::string& name) {
  if (name == "md" || name == "markdown") return Format::kMarkdown;
  if (name == "latex" || name == "tex") return Format::kLatex;
  if (name == "csv") return Format::kCsv;
  if (name == "html") return Format::kHtml;
  throw InputError(fmt::format("--format {}: unknown format (expected md, latex, csv or html)", name));
}

// The wall-time and memory table (left out by `report --no-costs`: it differs from machine to machine).
static std::string markdown_costs(const ReportTable& t) {
  std::string out = "\n### wall time and memory\n\n";
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
  return out;
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
  const bool bits = has_bits_column(t);  // after the setting it describes
  if (bits) header.insert(header.begin() + 1, "bits/w"), right.insert(right.begin() + 1, true);
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
    if (bits) cells.insert(cells.begin() + 1, first ? bits_text(t, r.setting) : "");
    for (size_t ci = 0; ci < l.cols.size(); ++ci) {
      const CellText c = cell_text(r, i, l, ci);
      std::string ours = c.mean.empty() ? "-" : (c.bold ? "**" + c.mean + "**" : c.mean);
      if (c.approx) ours += markdown_marks().approx;
      if (c.partial) ours += markdown_marks().section;
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
  if (const std::string partial = partial_note(t, markdown_marks()); !partial.empty()) notes.push_back(partial);
  if (!t.average_note.empty()) notes.push_back(t.average_note);
  notes.push_back("perplexity: lower is better; accuracies in %; bold: best per setting");
  if (const std::string best = best_note(t, l, markdown_marks()); !best.empty()) notes.push_back(best);
  if (bits) notes.push_back(bits_note(t, [](const std::string& x) { return x; }));
  out += "\n" + join(notes, "; ") + ".\n";

  if (!t.costs.empty()) out += markdown_costs(t);
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
  const bool bits = has_bits_column(t);  // a column after the setting it describes
  std::string spec = bits ? "lrl" : "ll";
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
  std::string models_row = bits ? " &  & " : " & ";
  std::string rules;
  size_t col = bits ? 4 : 3;
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
  std::string header = bits ? "Setting & bits/w & Method" : "Setting & Method";
  for (size_t ci = 0; ci < l.cols.size(); ++ci) {
    header += " & " + latex_escape(metric_title(l.cols[ci].second));
    if (l.paper[ci]) header += " & paper & $\\Delta$";
  }
  out += header + " \\\\\n\\midrule\n";
  for (size_t i = 0; i < t.rows.size(); ++i) {
    const Row& r = t.rows[i];
    const bool first = i == 0 || t.rows[i - 1].setting != r.setting;
    if (first && i > 0) out += "\\midrule\n";
    std::string line = (first ? latex_escape(r.setting) : "") + " & ";
    if (bits) line += (first ? bits_text(t, r.setting) : "") + " & ";
    line += latex_escape(r.title());
    for (size_t ci = 0; ci < l.cols.size(); ++ci) {
      const CellText c = cell_text(r, i, l, ci);
      std::string ours = c.mean.empty() ? "--" : (c.bold ? "\\textbf{" + c.mean + "}" : c.mean);
      std::vector<std::string> marks;  // one superscript for both (latex_marks)
      if (c.approx) marks.push_back(latex_marks().approx);
      if (c.partial) marks.push_back(latex_marks().section);
      ours += latex_marks().write(marks);
      if (c.has_std) ours += "$\\pm$" + c.std;
      line += " & " + ours;
      if (l.paper[ci])
        line += " & " + paper_cell(c, latex_marks()) + " & " + c.delta;
    }
    out += line + " \\\\\n";
  }
  out += "\\bottomrule\n\\end{tabular}\n";
  auto notes = paper_notes(t, l, latex_marks(), latex_escape);
  if (const std::string partial = partial_note(t, latex_marks()); !partial.empty()) notes.push_back(partial);
  if (!t.average_note.empty()) notes.push_back(latex_escape(t.average_note));
  if (const std::string best = best_note(t, l, latex_marks()); !best.empty()) notes.push_back(best);
  if (bits) notes.push_back(bits_note(t, latex_escape));
  if (!notes.empty()) out += "\\\\[2pt]{\\footnotesize " + join(notes, "; ") + ".}\n";
  out += "\\end{table}\n";
  (void)ncols;
  return out;
}

std::string render_csv(const std::vector<ReportTable>& tables) {
  std::string out =
      "experiment,model,paper_model,setting,method,metric,value,std,n,paper_value,paper_verified,paper,delta,"
      "paper_reimplementation,stderr,n_docs,n_docs_total,best_vs_next_p,effective_bits_per_weight,bits_theoretical\n";
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
                       hp ? (p->second.reimplementation ? "true" : "false") : "", csv_number(s.stderr_value),
                       s.docs > 0 ? std::to_string(s.docs) : "", s.docs_total > 0 ? std::to_string(s.docs_total) : "",
                       best_vs_next_p(t, r, c), size_fields(t, r.setting, m)},
                      ",") + "\n";
        }
    for (const auto& c : t.costs)
      for (const auto& [name, s] : std::vector<std::pair<std::string, Stat>>{
               {"quantize_s", c.quantize_s}, {"total_s", c.total_s}, {"peak_rss_gb", c.peak_rss_gb}, {"peak_gpu_gb", c.peak_gpu_gb}}) {
        if (!s.has()) continue;
        out += join({csv_field(t.experiment), csv_field(c.model), csv_field(t.paper_model.at(c.model)), csv_field(c.setting),
                     csv_field(c.label), name, csv_number(s.mean), csv_number(s.std), std::to_string(s.n), "", "", "", "", "",
                     "", "", "", "", ","},
                    ",") + "\n";
      }
  }
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
