// JSON files with errors that name the file, the key and what was expected.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace ptq::io {

// Parses a JSON file; throws InputError("<path>: invalid JSON at line L, column C: ...").
nlohmann::json read_json_file(const std::string& path);

}  // namespace ptq::io
