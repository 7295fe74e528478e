// JSON-lines files (optionally .gz): one object per line, blank lines skipped, errors naming file and line.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace ptq::io {

// Calls `visit(line_number, object)` for each non-blank line until it returns false; InputError("<path>:
// line N ...") when a line is not a JSON object. Returns the number of objects visited.
size_t for_each_json_line(const std::string& path, const std::function<bool(size_t, const nlohmann::json&)>& visit);
// The same over `content` already in memory (e.g. read once to be hashed too); `path` names it in errors.
size_t for_each_json_line_in(std::string_view content, const std::string& path,
                             const std::function<bool(size_t, const nlohmann::json&)>& visit);

}  // namespace ptq::io
