#include "tests/support/browser_check.h"

#include "tests/support/test_env.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace ptq::test {

namespace {

// Runs in the page after layout. Scrolls each marker into view first: elementFromPoint sees the viewport only.
const char* const kCheckScript = R"js(<script>
(function () {
  var res = {markers: 0, series: 0, hidden: [], missing: [], coincident: []};
  var marks = Array.prototype.slice.call(document.querySelectorAll('svg.panel .mk'));
  var all = {}, visible = {}, boxes = [];
  marks.forEach(function (m, i) {
    var svg = m.ownerSVGElement, s = m.getAttribute('data-series');
    var key = svg.getAttribute('data-figure') + '/' + s;
    all[key] = true;
    m.scrollIntoView({block: 'center', inline: 'center'});
    var r = m.getBoundingClientRect();
    var top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    var owner = top && top.closest ? top.closest('[data-series]') : null;
    var ok = r.width > 0 && r.height > 0 && owner && owner.getAttribute('data-series') === s && top.ownerSVGElement === svg;
    if (ok) visible[key] = true; else res.hidden.push(key + '@' + i);
    boxes.push({svg: svg, s: s, fig: svg.getAttribute('data-figure'), x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height});
  });
  for (var i = 0; i < boxes.length; ++i)
    for (var j = i + 1; j < boxes.length; ++j) {
      var a = boxes[i], b = boxes[j];
      if (a.svg !== b.svg || a.s === b.s) continue;
      var ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x), oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (ox > 0 && oy > 0 && ox * oy >= 0.9 * Math.min(a.w * a.h, b.w * b.h)) res.coincident.push(a.fig + '/' + a.s + '~' + b.s);
    }
  Object.keys(all).forEach(function (k) { if (!visible[k]) res.missing.push(k); });
  res.markers = marks.length;
  res.series = Object.keys(all).length;
  window.scrollTo(0, 0);
  var pre = document.createElement('pre');
  pre.id = 'ptq-verdict';
  pre.textContent = JSON.stringify(res);
  document.body.appendChild(pre);
})();
</script>)js";

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string run_capture(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot start: " + command);
  std::string out;
  std::array<char, 65536> buf;
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  const int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error(fmt::format("exit status {} from: {}\n{}", rc, command, out.substr(0, 2000)));
  return out;
}

std::string unescape_html(std::string s) {
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"&quot;", "\""}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}})
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

std::vector<std::string> strings(const nlohmann::json& j) { return j.get<std::vector<std::string>>(); }

// The browser without sandbox or GPU (containers, CI), its profile in `work_dir`, killed after 90 s.
std::string chromium_command(const std::string& chromium, const std::string& work_dir) {
  return fmt::format("timeout 90 {} --headless --disable-gpu --no-sandbox --hide-scrollbars --user-data-dir={} ",
                     shell_quote(chromium), shell_quote(work_dir + "/chromium-profile"));
}

}  // namespace

std::string find_chromium() {
  if (const char* env = std::getenv("PTQ_CHROMIUM"); env && *env) return fs::exists(env) ? env : "";
  const char* path = std::getenv("PATH");
  const std::string dirs = path ? path : "/usr/bin:/bin";
  for (const char* name : {"chromium-headless-shell", "chromium", "chromium-browser"})
    for (size_t pos = 0; pos <= dirs.size();) {
      const size_t end = std::min(dirs.find(':', pos), dirs.size());
      const fs::path candidate = fs::path(dirs.substr(pos, end - pos)) / name;
      if (!dirs.substr(pos, end - pos).empty() && fs::exists(candidate)) return candidate.string();
      pos = end + 1;
    }
  return "";
}

BrowserVerdict check_series_visible(const std::string& chromium, const std::string& html_path, const std::string& work_dir,
                                    const std::string& screenshot_png) {
  std::string html = read_text(html_path);
  const size_t body_end = html.rfind("</body>");
  html.insert(body_end == std::string::npos ? html.size() : body_end, kCheckScript);
  const std::string checked = (fs::path(work_dir) / "checked.html").string();
  write_text(checked, html);
  const auto start = std::chrono::steady_clock::now();
  BrowserVerdict v;
  v.dom = run_capture(chromium_command(chromium, work_dir) + "--dump-dom " + shell_quote("file://" + fs::absolute(checked).string()) + " 2>/dev/null");
  v.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!screenshot_png.empty())
    run_capture(chromium_command(chromium, work_dir) + "--window-size=1400,2400 --screenshot=" + shell_quote(screenshot_png) + " " +
                shell_quote("file://" + fs::absolute(html_path).string()) + " 2>&1");
  const std::string open = "<pre id=\"ptq-verdict\">";
  const size_t a = v.dom.find(open), b = a == std::string::npos ? a : v.dom.find("</pre>", a);
  if (b == std::string::npos) throw std::runtime_error("the browser wrote no verdict; its DOM begins:\n" + v.dom.substr(0, 2000));
  const nlohmann::json j = nlohmann::json::parse(unescape_html(v.dom.substr(a + open.size(), b - a - open.size())));
  v.markers = j.at("markers").get<int>();
  v.series = j.at("series").get<int>();
  v.hidden = strings(j.at("hidden"));
  v.missing = strings(j.at("missing"));
  v.coincident = strings(j.at("coincident"));
  return v;
}

}  // namespace ptq::test
