#include "tests/support/readme_figure.h"

#include "tests/support/test_env.h"

#include <sstream>
#include <stdexcept>

namespace ptq::test {

std::string as_figure_text(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    out += line + "\n";
  }
  while (out.size() >= 2 && out.substr(out.size() - 2) == "\n\n") out.pop_back();
  return out;
}

std::string readme_figure(const std::string& command) {
  const std::string readme = read_text(source_dir() + "/README.md");
  const std::string marker = "<!-- figure: " + command + " -->\n";
  const size_t at = readme.find(marker);
  if (at == std::string::npos) throw std::runtime_error("README.md has no figure for: " + command);
  const size_t end = readme.find("<!-- /figure -->", at);
  std::istringstream in(readme.substr(at + marker.size(), end - at - marker.size()));
  std::string line, body;
  while (std::getline(in, line))
    if (line.rfind("```", 0) != 0 && line != "$ " + command) body += line + "\n";
  return as_figure_text(body);
}

}  // namespace ptq::test
