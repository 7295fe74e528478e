// Unknown names given on the command line (an option's value, a metric, an experiment, a subcommand):
// one message shape everywhere, "<where>: unknown <what> '<name>', did you mean '<closest>'? (expected one
// of: ...)", and a CLI11 validator that checks an option's value against its choices with that message
// (CLI11's IsMember says only "not in {...}").
#pragma once

#include <string>
#include <vector>

namespace CLI {
class Validator;
}

namespace ptq::cli {

// The message for `name` missing from `known` (the "did you mean" part only when one is close).
std::string unknown_name_message(const std::string& where, const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known);
// Throws InputError(unknown_name_message(...)) unless `name` is in `known`.
void require_known(const std::string& where, const std::string& what, const std::string& name,
                   const std::vector<std::string>& known);
// A validator for ->check(): the value must be one of `choices`.
CLI::Validator one_of(std::vector<std::string> choices);
// report::parse_format's check of a --format value, with a suggestion.
void check_report_format(const std::string& name);

}  // namespace ptq::cli
