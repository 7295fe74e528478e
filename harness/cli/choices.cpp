#include "harness/cli/choices.h"

#include "harness/report/render.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace ptq::cli {

std::string unknown_name_message(const std::string& where, const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known) {
  const std::string hint = closest_match(name, known);
  return fmt::format("{}{}unknown {} '{}'{} (expected one of: {})", where, where.empty() ? "" : ": ", what, name,
                     hint.empty() ? "" : fmt::format(", did you mean '{}'?", hint), known.empty() ? "none" : join(known, ", "));
}

void require_known(const std::string& where, const std::string& what, const std::string& name,
                   const std::vector<std::string>& known) {
  if (std::find(known.begin(), known.end(), name) == known.end())
    throw InputError(unknown_name_message(where, what, name, known));
}

CLI::Validator one_of(std::vector<std::string> choices) {
  const std::string desc = "{" + join(choices, ",") + "}";
  return CLI::Validator(
      [choices = std::move(choices)](std::string& value) -> std::string {
        if (std::find(choices.begin(), choices.end(), value) != choices.end()) return "";
        return unknown_name_message("", "value", value, choices);
      },
      desc);
}

void check_report_format(const std::string& name) {
  try {
    report::parse_format(name);
  } catch (const InputError&) {  // the same error, with a suggestion
    throw InputError(unknown_name_message("--format", "format", name, {"md", "latex", "csv", "html"}));
  }
}

}  // namespace ptq::cli
