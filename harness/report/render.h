// Renders a ReportTable the way papers print it: Markdown (terminal, GitHub), LaTeX (booktabs, best
// per column in bold), CSV (long format: one row per model x setting x method x metric, for pandas/R),
// and a standalone HTML page with an SVG chart of perplexity against weight bits.
#pragma once

#include "harness/report/report_table.h"

#include <string>
#include <vector>

namespace ptq::report {

enum class Format { kMarkdown, kLatex, kCsv, kHtml };
Format parse_format(const std::string& name);  // md | latex | csv | html; InputError otherwise

struct RenderOptions {
  int digits = -1;  // decimals; -1 = 2, or up to 4 where 2 would print different values alike
};

std::string render(const std::vector<ReportTable>& tables, Format format, const RenderOptions& options = {});

std::string render_markdown(const ReportTable& t, const RenderOptions& o);
std::string render_latex(const ReportTable& t, const RenderOptions& o);
std::string render_csv(const std::vector<ReportTable>& tables);
std::string render_html(const std::vector<ReportTable>& tables, const RenderOptions& o);

// The SVG chart alone: per model, one line per (method, activation bits) through weight bits.
std::string svg_ppl_vs_bits(const ReportTable& t, const std::string& model, const std::string& metric);

}  // namespace ptq::report
