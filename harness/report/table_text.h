// What every table format prints for a cell, before its own syntax: the decimals, the best value per
// setting, our value, the paper's with its marks and the difference, and the notes under a table.
// render.cpp (Markdown, LaTeX) and html_page.cpp share it so that the formats cannot disagree.
#pragma once

#include "harness/report/render.h"
#include "harness/report/report_table.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ptq::report {

// Decimals per metric kind, as the papers print them: 2 for perplexities and accuracies (in %) alike,
// whatever the values; RenderOptions::digits overrides.
int metric_digits(const std::string& metric, const RenderOptions& o);

struct Layout {
  std::vector<Column> cols;
  std::vector<int> digits;
  std::vector<bool> paper;
  std::set<std::pair<size_t, Column>> best;
  // Bold cells whose setting's best is not significantly better than its runner-up (ReportTable::best_tests).
  std::set<std::pair<size_t, Column>> not_significant;
  bool any_unverified = false, any_seeds = false;
  // paper -> the number marking its values, when they come from two or more papers (one: named in a note).
  std::map<std::string, int> source_number;
  std::vector<std::string> reimplemented_by;  // papers whose own re-implementations of a method appear (‡)
};
Layout layout(const ReportTable& t, const RenderOptions& o);

// Our value as text ("12.34" or "12.34 ± 0.05"), the paper's ("12.30" + mark), and the difference.
struct CellText {
  std::string ours, paper, delta;
  bool bold = false, unverified = false, reimplementation = false, has_std = false;
  bool partial = false;  // evaluated on part of the data (--limit): marked, and named in a note
  bool approx = false;   // bold, but not significantly better than the runner-up: marked ≈
  int source = 0;        // the paper's number in the sources note; 0: the table has one source
  std::string mean, std;
};
CellText cell_text(const Row& r, size_t row_index, const Layout& l, size_t ci);

std::string fmt_num(double v, int d);
std::string fmt_delta(double v, int d);
std::string html_escape(const std::string& s);
std::string column_title(const ReportTable& t, const Column& c);
std::string cost_text(const Stat& s, const char* unit);

// How a format writes the marks of a value: † unverified, ‡ a re-implementation by the reporting paper,
// § a partial evaluation, ≈ a best not significantly better than the runner-up, and the number of its
// source in tables that mix papers ("1", "2", ...); `geq` is how its notes write ≥.
struct MarkStyle {
  std::string dagger, ddagger, section;
  std::function<std::string(const std::vector<std::string>&)> write;  // one value's marks, in order
  std::string approx, geq;
};
const MarkStyle& markdown_marks();
const MarkStyle& latex_marks();
const MarkStyle& html_marks();

std::string paper_cell(const CellText& c, const MarkStyle& style);
// The notes on paper values, as plain text: where they come from (one paper: its name; several: each
// with its mark), what † and ‡ mean. `esc` escapes a paper's name for the format.
std::vector<std::string> paper_notes(const ReportTable& t, const Layout& l, const MarkStyle& style,
                                     const std::function<std::string(const std::string&)>& esc);
// "§ partial evaluation (--limit): PIQA n=10 of 1838 documents, WikiText2 n=4 of 141 segments"; empty
// when every value covers its whole data.
std::string partial_note(const ReportTable& t, const MarkStyle& style);
// "≈: not significantly better than the runner-up (paired test on per-example results, p ≥ 0.05)", naming
// the tests behind the marks shown; empty when no cell is marked.
std::string best_note(const ReportTable& t, const Layout& l, const MarkStyle& style);
// The "bits/w" column (issue #30): present when some run of the table recorded its size on disk
// (ReportTable::sizes). A setting's text: "4.25" (GPTQ-packed, scales, zero points and g_idx included),
// "(6.07)" (theoretical: no packed layout at these bits), "16" (float16), "-" (not recorded); "4.25 / 4.13"
// when the table's models differ, in column order. The note under the table says what the figure counts.
bool has_bits_column(const ReportTable& t);
std::string bits_text(const ReportTable& t, const std::string& setting);
std::string bits_note(const ReportTable& t, const std::function<std::string(const std::string&)>& esc);
// One (metric, Stat) per distinct evaluation size of each metric, in column order (only partial ones when
// `partial_only`): what the notes on documents and segments list.
std::vector<std::pair<std::string, Stat>> evaluation_sizes(const ReportTable& t, bool partial_only);

}  // namespace ptq::report
