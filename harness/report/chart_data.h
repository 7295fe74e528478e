// What the report's charts show, taken from a ReportTable and free of geometry: per model one figure of
// small multiples, a row of panels per activation setting (A16, A8, A4, ...), a panel per plotted metric
// (WikiText-2 and C4 perplexity, the zero-shot average), a series per method and setting variant
// (OmniQuant and OmniQuant g128 are two series), each point our value (with stderr and evaluation size)
// at its weight bits, beside the paper's number for the same cell when the table has one.
#pragma once

#include "harness/report/report_table.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ptq::report {

struct ChartPoint {
  int wbits = 16;
  std::string setting;
  Stat ours;                  // mean, stderr, documents
  PaperValue paper;           // value NaN when no paper reports the cell
};

struct ChartSeries {
  std::string name;           // "OmniQuant", "OmniQuant g128"
  size_t style = 0;           // index into the figure's series: colour and marker, the same in every panel
  std::vector<ChartPoint> points;  // by weight bits
};

struct ChartPanel {
  std::string metric;
  int abits = 16;
  double fp = NAN;            // the FP model's value: the dashed reference line
  bool higher_is_better = false;
  std::vector<ChartSeries> series;  // those with a point in this panel, in figure order
};

struct ChartFigure {
  std::string model;
  std::vector<int> wbits;            // the x categories, ascending
  std::vector<int> abits;            // panel rows, descending (A16 first)
  std::vector<std::string> metrics;  // panel columns
  std::vector<std::string> series;   // legend order
  std::vector<ChartPanel> panels;    // row-major: abits x metrics; a panel may have no series
};

// The metrics the charts plot, of those the table has: WikiText-2, C4 (or C4-new) and the zero-shot average.
std::vector<std::string> chart_metrics(const ReportTable& t);
// The figure of one model; no panels when the table has no quantized row with a plotted metric.
ChartFigure build_figure(const ReportTable& t, const std::string& model);
// "OmniQuant" for W4A16, "OmniQuant g128" for W4A16g128: the row's title and what its setting adds to
// W<w>A<a> (group size, KV bits, symmetric quantizers).
std::string series_name(const Row& r);

}  // namespace ptq::report
