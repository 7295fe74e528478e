// Renders a ReportTable the way papers print it: Markdown (terminal, GitHub), LaTeX (booktabs, best
// per column in bold), CSV (long format: one row per model x setting x method x metric, for pandas/R),
// and a standalone HTML page (html_page.cpp) with small-multiple charts (chart_data.h, svg_chart.h).
#pragma once

#include "harness/report/report_table.h"

#include <string>
#include <vector>

namespace ptq::report {

enum class Format { kMarkdown, kLatex, kCsv, kHtml };
Format parse_format(const std::string& name);  // md | latex | csv | html; InputError otherwise

struct RenderOptions {
  int digits = -1;  // decimals of our values; -1 = 2, as the papers print perplexities and accuracies
};

std::string render(const std::vector<ReportTable>& tables, Format format, const RenderOptions& options = {});

std::string render_markdown(const ReportTable& t, const RenderOptions& o);
std::string render_latex(const ReportTable& t, const RenderOptions& o);
std::string render_csv(const std::vector<ReportTable>& tables);
// One self-contained page (inline CSS and SVG, no scripts, no network), readable when printed.
std::string render_html(const std::vector<ReportTable>& tables, const RenderOptions& o);

}  // namespace ptq::report
