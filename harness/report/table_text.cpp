#include "harness/report/table_text.h"

#include "evaluators/evaluator.h"
#include "harness/util/text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <tuple>

namespace ptq::report {

int metric_digits(const std::string& /*metric*/, const RenderOptions& o) { return o.digits >= 0 ? o.digits : 2; }

// Best value per (setting group, column) among quantized rows, when the group has two or more of them.
namespace {

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

}  // namespace

Layout layout(const ReportTable& t, const RenderOptions& o) {
  Layout l;
  for (const auto& m : t.models)
    for (const auto& metric : t.metrics) {
      l.cols.push_back({m, metric});
      l.digits.push_back(metric_digits(metric, o));
      l.paper.push_back(t.column_has_paper(l.cols.back()));
    }
  l.best = best_cells(t, l.digits);
  for (const auto& [i, c] : l.best) {
    const auto it = t.best_tests.find({t.rows[i].setting, c});
    if (it != t.best_tests.end() && !it->second.significant()) l.not_significant.insert({i, c});
  }
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
    c.approx = l.not_significant.count({row_index, col}) > 0;
    c.partial = it->second.partial();
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

namespace {
bool is_number(const std::string& mark) { return !mark.empty() && std::isdigit(static_cast<unsigned char>(mark[0])); }
}  // namespace

const MarkStyle& markdown_marks() {
  static const MarkStyle style{"†", "‡", "§", [](const std::vector<std::string>& marks) {
                                 static const char* const digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
                                 std::string out;
                                 for (const auto& m : marks)
                                   if (!is_number(m)) out += m;
                                   else
                                     for (char ch : m) out += digits[ch - '0'];
                                 return out;
                               },
                               "≈", "≥"};
  return style;
}

// One superscript for all marks ($^{\dagger,2}$): adjacent math groups would be fragile.
const MarkStyle& latex_marks() {
  static const MarkStyle style{"\\dagger", "\\ddagger", "\\S", [](const std::vector<std::string>& marks) {
                                 return marks.empty() ? std::string() : "$^{" + join(marks, ",") + "}$";
                               },
                               "\\approx", "$\\geq$"};
  return style;
}

const MarkStyle& html_marks() {
  static const MarkStyle style{"&dagger;", "&Dagger;", "&sect;", [](const std::vector<std::string>& marks) {
                                 std::string out;
                                 for (const auto& m : marks) out += is_number(m) ? "<sup>" + m + "</sup>" : m;
                                 return out;
                               },
                               "&asymp;", "&ge;"};
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

bool has_bits_column(const ReportTable& t) { return !t.sizes.empty(); }

namespace {

// One model's figure for a setting, as the column prints it.
std::string bits_of(const ReportTable& t, const std::string& setting, const std::string& model) {
  const auto it = t.sizes.find({setting, model});
  if (it == t.sizes.end() || !it->second.has()) return "-";
  const double b = it->second.bits_per_weight;
  if (b == 16 && !it->second.theoretical) return "16";
  return it->second.theoretical ? "(" + fmt_num(b, 2) + ")" : fmt_num(b, 2);
}

// Whether two models of the table print different figures for one setting.
bool bits_differ(const ReportTable& t) {
  for (const auto& r : t.rows)
    for (const auto& m : t.models)
      if (bits_of(t, r.setting, m) != bits_of(t, r.setting, t.models.front())) return true;
  return false;
}

}  // namespace

std::string bits_text(const ReportTable& t, const std::string& setting) {
  std::vector<std::string> per_model;
  for (const auto& m : t.models) per_model.push_back(bits_of(t, setting, m));
  if (per_model.empty()) return "-";
  const bool same = std::all_of(per_model.begin(), per_model.end(), [&](const std::string& x) { return x == per_model[0]; });
  return same ? per_model[0] : join(per_model, " / ");
}

std::string bits_note(const ReportTable& t, const std::function<std::string(const std::string&)>& esc) {
  if (!has_bits_column(t)) return "";
  std::string note = "bits/w: bits per linear weight as the GPTQ-packed export stores them (scales, zero points and "
                     "g_idx included, linears kept in float16 at 16)";
  const bool theoretical = std::any_of(t.sizes.begin(), t.sizes.end(), [](const auto& s) { return s.second.theoretical; });
  if (theoretical) note += ", in parentheses the theoretical size where the bits have no packed layout";
  if (bits_differ(t)) note += ", a / b: per model in column order";
  return esc(note);
}

std::vector<std::pair<std::string, Stat>> evaluation_sizes(const ReportTable& t, bool partial_only) {
  std::set<std::tuple<size_t, int64_t, int64_t>> seen;  // (column order, docs, total)
  std::vector<std::pair<std::string, Stat>> out;
  for (size_t mi = 0; mi < t.metrics.size(); ++mi)
    for (const auto& r : t.rows)
      for (const auto& model : t.models) {
        const auto it = r.ours.find({model, t.metrics[mi]});
        if (it == r.ours.end() || !it->second.has() || it->second.docs <= 0 || (partial_only && !it->second.partial())) continue;
        const Stat& s = it->second;
        if (seen.insert({mi, s.docs, s.docs_total}).second) out.push_back({t.metrics[mi], s});
      }
  return out;
}

std::string partial_note(const ReportTable& t, const MarkStyle& style) {
  std::vector<std::string> parts;
  for (const auto& [metric, s] : evaluation_sizes(t, /*partial_only=*/true))
    parts.push_back(fmt::format("{} n={} of {} {}", metric_title(metric), s.docs, s.docs_total, s.segments ? "segments" : "documents"));
  if (parts.empty()) return "";
  return style.write({style.section}) + " partial evaluation (--limit): " + join(parts, ", ");
}

// Which tests decided the marks shown: paired ones, the standard errors, or both.
std::string best_note(const ReportTable& t, const Layout& l, const MarkStyle& style) {
  bool paired = false, stderr_based = false;
  for (const auto& [i, c] : l.not_significant) {
    const bool p = t.best_tests.at({t.rows[i].setting, c}).basis == "paired";
    paired |= p;
    stderr_based |= !p;
  }
  if (!paired && !stderr_based) return "";
  const std::string tests = !stderr_based ? "paired test on per-example results"
                            : !paired     ? "z-test on the evaluations' standard errors"
                                          : "paired test on per-example results, else a z-test on the standard errors";
  return fmt::format("{}: not significantly better than the runner-up ({}, p {} {:g})", style.write({style.approx}), tests,
                     style.geq, kBestAlpha);
}

}  // namespace ptq::report
