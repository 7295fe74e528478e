// JSON files with errors that name the file, the key and what was expected.
#pragma once

#include "harness/util/json_text.h"

#include <nlohmann/json.hpp>

#include <string>

namespace ptq::io {

// Parses a JSON file through parse_json_text (depth-bounded, numbers in range); throws
// InputError("<path>: invalid JSON at line L, column C: ..."). Experiment files pass
// {.reject_duplicate_keys = true}.
nlohmann::json read_json_file(const std::string& path, const JsonTextOptions& options = {});

}  // namespace ptq::io
