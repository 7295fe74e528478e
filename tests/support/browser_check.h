// Checks a report's HTML in a real headless Chromium: every chart series must stay visible. The page is
// copied with a script appended that, for every data marker (class "mk", data-series; svg_chart.h),
// asks the browser's own layout which element is topmost at the marker's centre
// (document.elementFromPoint), and checks that each series of each figure has a visible marker and that
// no two series' markers coincide; Chromium's --dump-dom hands back the verdict the script wrote.
#pragma once

#include <string>
#include <vector>

namespace ptq::test {

// The Chromium to use: $PTQ_CHROMIUM, else chromium-headless-shell, chromium or chromium-browser on
// PATH; "" when there is none (tests then skip).
std::string find_chromium();

struct BrowserVerdict {
  int markers = 0, series = 0;           // data markers, and (figure, series) pairs, on the page
  std::vector<std::string> hidden;       // "figure/series@marker": a marker whose centre another element covers
  std::vector<std::string> missing;      // "figure/series" without one visible marker
  std::vector<std::string> coincident;   // "figure/a~b": markers of two series on the same spot
  double seconds = 0;                    // the browser's run time
  std::string dom;                       // what --dump-dom printed (for failure messages)
  bool every_series_visible() const { return markers > 0 && missing.empty() && coincident.empty(); }
};

// Renders `html_path` with `chromium` (work files, and the screenshot when `screenshot_png` is set, go
// to `work_dir`). Throws std::runtime_error when the browser fails or writes no verdict.
BrowserVerdict check_series_visible(const std::string& chromium, const std::string& html_path, const std::string& work_dir,
                                    const std::string& screenshot_png = "");

}  // namespace ptq::test
