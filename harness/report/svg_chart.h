// Writes the report's charts as inline SVG (no scripts, no external resources): one <svg> per panel of
// a ChartFigure (chart_data.h) on the geometry of chart_geometry.h, and the legend's marker icons.
// Every data marker carries class "mk" and data-series="<style>" (paper markers class "pp"), so a test
// can check in a real browser that each series stays visible (tests/support/browser_check.h).
#pragma once

#include "harness/report/chart_data.h"

#include <string>

namespace ptq::report {

// Colour and marker of a series style: the same style looks the same in every panel and the legend.
const char* series_colour(size_t style);
// An SVG path `d` for the style's marker (circle, square, triangles, diamond, hexagon, star, cross)
// centred on (cx, cy) with about radius r.
std::string marker_path(size_t style, double cx, double cy, double r);
// A small standalone <svg> for the legend: the series' line and marker, or its hollow paper marker.
std::string svg_legend_icon(size_t style, bool hollow = false);
// One panel: `figure_id` tells panels of different figures apart (data-figure).
std::string svg_panel(const ChartFigure& f, const ChartPanel& p, size_t figure_id);

}  // namespace ptq::report
