// The figures of README.md (blocks `<!-- figure: COMMAND -->` ... `<!-- /figure -->`, written by
// scripts/readme_figures), for tests that recompute a figure and require the README to show it.
#pragma once

#include <string>

namespace ptq::test {

// What the README shows as COMMAND's stdout in the figure whose marker names exactly that command
// (without the fence and the `$ COMMAND` line), or throws when the README has no such figure.
std::string readme_figure(const std::string& command);

// Text as a figure holds it: trailing blanks removed from every line, one final newline.
std::string as_figure_text(const std::string& text);

}  // namespace ptq::test
