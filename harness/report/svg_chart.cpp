#include "harness/report/svg_chart.h"

#include "harness/report/chart_geometry.h"
#include "harness/report/table_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ptq::report {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kMarkerR = 4.0;
const char* const kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F3C8D", "#555555"};
constexpr size_t kStyles = 8;

std::string polygon(double cx, double cy, const std::vector<std::pair<double, double>>& polar) {
  std::string d;
  for (const auto& [r, a] : polar) d += fmt::format("{}{:.2f},{:.2f}", d.empty() ? "M" : "L", cx + r * std::cos(a), cy + r * std::sin(a));
  return d + "Z";
}

std::vector<std::pair<double, double>> regular(int k, double r, double start_deg) {
  std::vector<std::pair<double, double>> p;
  for (int i = 0; i < k; ++i) p.push_back({r, (start_deg + 360.0 * i / k) * kPi / 180});
  return p;
}

// Where a panel draws: pixel margins, the x position of each category and series, the y scale.
struct Frame {
  double width = 0, height = 0, left = 42, right = 12, top = 24, bottom = 36, plot_h = 150;
  double band = 0, dodge = 0;
  Axis axis;
  LinearScale y{0, 1, 0, 1};
  double x(const ChartFigure& f, int wbits, size_t style) const {
    const size_t i = static_cast<size_t>(std::find(f.wbits.begin(), f.wbits.end(), wbits) - f.wbits.begin());
    const double centre = left + (static_cast<double>(i) + 0.5) * band;
    return centre + (static_cast<double>(style) - (static_cast<double>(f.series.size()) - 1) / 2) * dodge;
  }
  double y_clamped(double v) const { return y(std::clamp(v, axis.min, axis.max)); }
};

Frame frame_of(const ChartFigure& f, const ChartPanel& p) {
  Frame fr;
  std::vector<double> values;
  for (const auto& s : p.series)
    for (const auto& pt : s.points) values.insert(values.end(), {pt.ours.mean, pt.paper.value});
  const ValueRange r = panel_range(values, p.fp, p.higher_is_better);
  fr.axis = nice_axis(r.lo, r.hi);
  bool above = false, below = false;
  for (const auto& s : p.series)
    for (const auto& pt : s.points) {
      above |= place(pt.ours.mean, fr.axis) == Placement::kAbove;
      below |= place(pt.ours.mean, fr.axis) == Placement::kBelow;
    }
  if (above) fr.top += 34;  // room for the rotated value labels of arrows
  if (below) fr.bottom += 34;
  // Markers of neighbouring series sit side by side, never on each other's centre: the dodge (>= 8 px)
  // exceeds the largest marker's reach (the star's 1.4 r = 5.6 px).
  const double nseries = static_cast<double>(std::max<size_t>(1, f.series.size()));
  const double nx = static_cast<double>(std::max<size_t>(1, f.wbits.size()));
  const double plot_w = std::max(200.0, nx * nseries * 8.0 / 0.85);
  fr.band = plot_w / nx;
  fr.dodge = std::min(12.0, 0.85 * fr.band / nseries);
  fr.width = fr.left + plot_w + fr.right;
  fr.height = fr.top + fr.plot_h + fr.bottom;
  fr.y = {fr.axis.min, fr.axis.max, fr.top + fr.plot_h, fr.top};
  return fr;
}

std::string value_label(double v) { return fmt::format("{:.{}f}", v, std::fabs(v) >= 100 ? 0 : std::fabs(v) >= 10 ? 1 : 2); }

std::string axes(const ChartFigure& f, const ChartPanel& p, const Frame& fr) {
  std::string s = fmt::format(R"(<text x="{}" y="14" font-size="12" font-weight="bold">{} &#183; A{}{}</text>)", fr.left,
                              html_escape(metric_title(p.metric)), p.abits,
                              std::isfinite(p.fp) ? fmt::format(" &#183; FP {:.2f}", p.fp) : "");
  const double x0 = fr.left, x1 = fr.width - fr.right, y0 = fr.top + fr.plot_h;
  for (double t : fr.axis.ticks)
    s += fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#e4e4e4"/><text x="{3}" y="{4:.1f}" text-anchor="end">{5}</text>)",
                     x0, fr.y(t), x1, x0 - 5, fr.y(t) + 4, tick_label(t, fr.axis.decimals));
  s += fmt::format(R"(<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="none" stroke="#888"/>)", x0, fr.top, x1 - x0, fr.plot_h);
  for (size_t i = 0; i < f.wbits.size(); ++i) {
    const double cx = fr.left + (static_cast<double>(i) + 0.5) * fr.band;
    s += fmt::format(R"(<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#888"/><text x="{0:.1f}" y="{3}" text-anchor="middle">W{4}</text>)",
                     cx, y0, y0 + 4, y0 + 16, f.wbits[i]);
  }
  s += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle" fill="#555">weight bits</text>)", (x0 + x1) / 2, y0 + 30);
  if (std::isfinite(p.fp))
    s += fmt::format(R"(<line class="fp" x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#000" stroke-dasharray="5,4"><title>FP {3:.2f}</title></line>)",
                     x0, fr.y_clamped(p.fp), x1, p.fp);
  return s;
}

std::string series_lines(const ChartFigure& f, const ChartPanel& p, const Frame& fr) {
  std::string s;
  for (const auto& ser : p.series) {
    if (ser.points.size() < 2) continue;
    std::string pts;
    for (const auto& pt : ser.points)
      pts += fmt::format("{}{:.1f},{:.1f}", pts.empty() ? "" : " ", fr.x(f, pt.wbits, ser.style), fr.y_clamped(pt.ours.mean));
    s += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="1.5" stroke-opacity="0.75" points="{}"/>)",
                     series_colour(ser.style), pts);
  }
  return s;
}

std::string error_bars(const ChartFigure& f, const ChartPanel& p, const Frame& fr) {
  std::string s;
  for (const auto& ser : p.series)
    for (const auto& pt : ser.points) {
      const double se = pt.ours.stderr_value;
      if (!std::isfinite(se) || se <= 0 || place(pt.ours.mean, fr.axis) != Placement::kInside) continue;
      const double x = fr.x(f, pt.wbits, ser.style), ya = fr.y_clamped(pt.ours.mean - se), yb = fr.y_clamped(pt.ours.mean + se);
      s += fmt::format(R"(<path class="eb" d="M{0:.1f},{1:.1f}V{2:.1f}M{3:.1f},{1:.1f}H{4:.1f}M{3:.1f},{2:.1f}H{4:.1f}" stroke="{5}" fill="none"/>)",
                       x, ya, yb, x - 3, x + 3, series_colour(ser.style));
    }
  return s;
}

// "OmniQuant W4A16g128: 5.72 ± 0.03 (stderr), n = 141 segments": what a marker's tooltip says.
std::string point_title(const ChartSeries& ser, const ChartPoint& pt) {
  std::string t = fmt::format("{} {}: {:.2f}", ser.name, pt.setting, pt.ours.mean);
  if (std::isfinite(pt.ours.stderr_value)) t += fmt::format(" \u00b1 {:.2f} (stderr)", pt.ours.stderr_value);
  if (pt.ours.n > 1) t += fmt::format(", mean of {} seeds (std {:.2f})", pt.ours.n, pt.ours.std);
  if (pt.ours.docs > 0) {
    const char* unit = pt.ours.segments ? "segments" : "documents";
    t += pt.ours.partial() ? fmt::format(", n = {} of {} {} (--limit)", pt.ours.docs, pt.ours.docs_total, unit)
                           : fmt::format(", n = {} {}", pt.ours.docs, unit);
  }
  if (pt.paper.has()) t += fmt::format("; paper {:.2f} ({}, {})", pt.paper.value, pt.paper.paper, pt.paper.table);
  return html_escape(t);
}

std::string paper_markers(const ChartFigure& f, const ChartPanel& p, const Frame& fr) {
  std::string s;
  for (const auto& ser : p.series)
    for (const auto& pt : ser.points) {
      if (!pt.paper.has()) continue;
      const double x = fr.x(f, pt.wbits, ser.style), y = fr.y_clamped(pt.paper.value);
      const Placement where = place(pt.paper.value, fr.axis);  // beyond the axis: a hollow arrow at the edge
      const double dir = where == Placement::kAbove ? 1 : -1;
      const std::string d = where == Placement::kInside ? marker_path(ser.style, x, y, kMarkerR + 2.5)
                                                        : fmt::format("M{:.1f},{:.1f}l-5,{:.1f}h10Z", x, y + dir, 9 * dir);
      s += fmt::format(R"(<path class="pp" data-series="{}" d="{}" fill="none" stroke="{}" stroke-width="1.5"><title>{}: paper {:.2f} ({}, {})</title></path>)",
                       ser.style, d, series_colour(ser.style), html_escape(ser.name),
                       pt.paper.value, html_escape(pt.paper.paper), html_escape(pt.paper.table));
    }
  return s;
}

// Our points: the series' marker inside the axis, an arrow at the edge with the value beside it outside.
std::string data_markers(const ChartFigure& f, const ChartPanel& p, const Frame& fr) {
  std::string s;
  for (const auto& ser : p.series)
    for (const auto& pt : ser.points) {
      const double x = fr.x(f, pt.wbits, ser.style);
      const Placement where = place(pt.ours.mean, fr.axis);
      const char* colour = series_colour(ser.style);
      if (where == Placement::kInside) {
        s += fmt::format(R"(<path class="mk" data-series="{}" d="{}" fill="{}" stroke="#fff" stroke-width="0.8"><title>{}</title></path>)",
                         ser.style, marker_path(ser.style, x, fr.y(pt.ours.mean), kMarkerR), colour, point_title(ser, pt));
        continue;
      }
      const bool up = where == Placement::kAbove;
      const double edge = up ? fr.top : fr.top + fr.plot_h, tip = up ? edge + 1 : edge - 1, base = up ? edge + 10 : edge - 10;
      s += fmt::format(R"(<path class="mk arrow" data-series="{}" d="M{:.1f},{:.1f}L{:.1f},{:.1f}L{:.1f},{:.1f}Z" fill="{}"><title>{} (beyond the axis)</title></path>)",
                       ser.style, x, tip, x - 5, base, x + 5, base, colour, point_title(ser, pt));
      const double ly = up ? edge - 3 : edge + 66;  // read upwards; below the axis: under the x labels
      s += fmt::format(R"svg(<text x="{0:.1f}" y="{1:.1f}" transform="rotate(-90 {0:.1f} {1:.1f})" dy="3" font-size="9" fill="{2}">{3}</text>)svg",
                       x, ly, colour, value_label(pt.ours.mean));
    }
  return s;
}

}  // namespace

const char* series_colour(size_t style) { return kPalette[style % kStyles]; }

std::string marker_path(size_t style, double cx, double cy, double r) {
  switch ((style + style / kStyles) % kStyles) {  // past 8 series: other colour-shape pairs
    case 0: return fmt::format("M{:.2f},{:.2f}a{r},{r} 0 1,0 {d},0a{r},{r} 0 1,0 -{d},0Z", cx - r, cy, fmt::arg("r", r), fmt::arg("d", 2 * r));
    case 1: return polygon(cx, cy, regular(4, r * 1.2, 45));
    case 2: return polygon(cx, cy, regular(3, r * 1.3, -90));
    case 3: return polygon(cx, cy, regular(4, r * 1.3, -90));
    case 4: return polygon(cx, cy, regular(3, r * 1.3, 90));
    case 5: return polygon(cx, cy, regular(6, r * 1.15, 0));
    case 6: {
      std::vector<std::pair<double, double>> star;
      for (int i = 0; i < 10; ++i) star.push_back({i % 2 ? r * 0.6 : r * 1.4, (-90 + 36.0 * i) * kPi / 180});
      return polygon(cx, cy, star);
    }
    default: {
      const double a = r * 1.2, b = r * 0.45;  // a plus sign with thick arms
      return fmt::format("M{:.2f},{:.2f}h{b2}v{ab}h{ab}v{b2}h-{ab}v{ab}h-{b2}v-{ab}h-{ab}v-{b2}h{ab}Z", cx - b, cy - a,
                         fmt::arg("b2", 2 * b), fmt::arg("ab", a - b));
    }
  }
}

std::string svg_legend_icon(size_t style, bool hollow) {
  const char* c = series_colour(style);
  std::string s = R"(<svg class="icon" width="30" height="16" viewBox="0 0 30 16" aria-hidden="true">)";
  if (!hollow) s += fmt::format(R"(<line x1="1" y1="8" x2="29" y2="8" stroke="{}" stroke-width="1.5"/>)", c);
  s += fmt::format(R"(<path d="{}" fill="{}" stroke="{}" stroke-width="{}"/>)", marker_path(style, 15, 8, hollow ? 6 : 4.5),
                   hollow ? "none" : c, hollow ? c : "#fff", hollow ? 1.5 : 0.8);
  return s + "</svg>";
}

std::string svg_panel(const ChartFigure& f, const ChartPanel& p, size_t figure_id) {
  const Frame fr = frame_of(f, p);
  std::string s = fmt::format(
      R"(<svg class="panel" data-figure="{}" xmlns="http://www.w3.org/2000/svg" width="{:.0f}" height="{:.0f}" viewBox="0 0 {:.0f} {:.0f}" font-family="sans-serif" font-size="10" role="img">)",
      figure_id, fr.width, fr.height, fr.width, fr.height);
  s += fmt::format("<title>{}: {} at A{} against weight bits</title>", html_escape(f.model), html_escape(metric_title(p.metric)), p.abits);
  if (p.series.empty())
    return s + axes(f, p, fr) + fmt::format(R"(<text x="{:.0f}" y="{:.0f}" text-anchor="middle" fill="#888">no runs</text></svg>)",
                                            fr.left + f.wbits.size() * fr.band / 2, fr.top + fr.plot_h / 2);
  return s + axes(f, p, fr) + series_lines(f, p, fr) + error_bars(f, p, fr) + paper_markers(f, p, fr) + data_markers(f, p, fr) + "</svg>";
}

}  // namespace ptq::report
