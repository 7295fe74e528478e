// The HTML report's chart: perplexity (log scale) against weight bits, one line per method and
// activation/group configuration, the FP model as a dashed reference line. Plain SVG, no scripts.
#include "harness/ptq/quant_setting.h"
#include "harness/report/render.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace ptq::report {

namespace {

const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string esc(const std::string& s) {
  std::string out;
  for (char ch : s) out += ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : ch == '&' ? "&amp;" : std::string(1, ch);
  return out;
}

}  // namespace

std::string svg_ppl_vs_bits(const ReportTable& t, const std::string& model, const std::string& metric) {
  struct Point { int bits; double ppl; std::string setting; };
  std::map<std::string, std::vector<Point>> series;  // "rtn A16" -> points
  double fp = NAN;
  for (const auto& r : t.rows) {
    const auto it = r.ours.find({model, metric});
    if (it == r.ours.end() || !it->second.has()) continue;
    if (r.is_fp()) {
      fp = it->second.mean;
      continue;
    }
    quant::QuantSetting q;
    try {
      q = quant::QuantSetting::parse(r.setting);
    } catch (const InputError&) {
      continue;
    }
    std::string name = fmt::format("{} A{}", r.title(), q.abits);
    if (q.group_size) name += fmt::format(" g{}", q.group_size);
    series[name].push_back({q.wbits, it->second.mean, r.setting});
  }
  if (series.empty()) return "";
  double lo = std::isfinite(fp) ? fp : INFINITY, hi = std::isfinite(fp) ? fp : -INFINITY;
  int bmin = 16, bmax = 0;
  for (auto& [name, pts] : series) {
    std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.bits < b.bits; });
    for (const auto& p : pts) {
      lo = std::min(lo, p.ppl);
      hi = std::max(hi, p.ppl);
      bmin = std::min(bmin, p.bits);
      bmax = std::max(bmax, p.bits);
    }
  }
  if (bmin == bmax) {
    --bmin;
    ++bmax;
  }
  const double ylo = std::log10(lo) - 0.05, yhi = std::log10(hi) + 0.05;
  const double W = 640, H = 360, L = 70, R = 170, T = 30, B = 45;
  const auto x = [&](double bits) { return L + (bits - bmin) / (bmax - bmin) * (W - L - R); };
  const auto y = [&](double v) { return T + (yhi - std::log10(v)) / (yhi - ylo) * (H - T - B); };

  std::string s = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" font-family="sans-serif" font-size="12">)",
                              W, H, W, H);
  s += fmt::format("\n<title>{}: {} vs weight bits</title>", esc(model), esc(metric_title(metric)));
  s += fmt::format(R"(<text x="{}" y="18" font-size="14">{} — {} (log scale) vs weight bits</text>)", L, esc(model),
                   esc(metric_title(metric)));
  s += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#444"/><line x1="{0}" y1="{3}" x2="{0}" y2="{1}" stroke="#444"/>)",
                   L, H - B, W - R, T);
  for (int b = bmin; b <= bmax; ++b)
    s += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#444"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>)",
                     x(b), H - B, H - B + 5, H - B + 18, b);
  s += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">weight bits</text>)", (L + W - R) / 2, H - 8);
  // Y ticks: 1-2-5 per decade inside the range.
  for (int e = static_cast<int>(std::floor(ylo)); e <= static_cast<int>(std::ceil(yhi)); ++e)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, e);
      if (std::log10(v) < ylo || std::log10(v) > yhi) continue;
      s += fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#eee"/><text x="{3}" y="{4:.1f}" text-anchor="end">{5}</text>)",
                       L, y(v), W - R, L - 6, y(v) + 4, v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:g}", v));
    }
  if (std::isfinite(fp))
    s += fmt::format(R"(<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#000" stroke-dasharray="5,4"><title>FP: {3:.4f}</title></line><text x="{4}" y="{5:.1f}">FP</text>)",
                     L, y(fp), W - R, fp, W - R + 6, y(fp) + 4);
  size_t k = 0;
  for (const auto& [name, pts] : series) {
    const char* color = kPalette[k % (sizeof kPalette / sizeof kPalette[0])];
    std::string path;
    for (const auto& p : pts) path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "" : " ", x(p.bits), y(p.ppl));
    s += fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>)", color, path);
    for (const auto& p : pts)
      s += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="{}"><title>{} {}: {:.4f}</title></circle>)", x(p.bits),
                       y(p.ppl), color, esc(name), esc(p.setting), p.ppl);
    const double ly = T + 16.0 * static_cast<double>(k);
    s += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}" stroke-width="2"/><text x="{4}" y="{5}">{6}</text>)",
                     W - R + 30, ly + 10, W - R + 50, color, W - R + 55, ly + 14, esc(name));
    ++k;
  }
  return s + "</svg>";
}

}  // namespace ptq::report
