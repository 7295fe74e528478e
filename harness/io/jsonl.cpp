#include "harness/io/jsonl.h"

#include "harness/io/files.h"
#include "harness/util/errors.h"
#include "harness/util/json_text.h"
#include "harness/util/text.h"

#include <fmt/format.h>

namespace ptq::io {

size_t for_each_json_line(const std::string& path, const std::function<bool(size_t, const nlohmann::json&)>& visit) {
  return for_each_json_line_in(read_file(path), path, visit);
}

size_t for_each_json_line_in(std::string_view content, const std::string& path,
                             const std::function<bool(size_t, const nlohmann::json&)>& visit) {
  size_t pos = 0, line = 0, count = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string::npos) end = content.size();
    ++line;
    const std::string_view text = content.substr(pos, end - pos);
    pos = end + 1;
    if (python_is_blank(text)) continue;
    nlohmann::json doc;
    try {  // depth-bounded, numbers in range; other errors name the file's line already (first_line)
      doc = parse_json_text(text, path, {/*reject_duplicate_keys=*/false, /*first_line=*/line});
    } catch (const JsonSyntaxError& e) {
      throw InputError(fmt::format("{}: line {} is not valid JSON (column {}: {})", path, line, e.column, e.detail));
    }
    if (!doc.is_object()) throw InputError(fmt::format("{}: line {} is not a JSON object", path, line));
    ++count;
    if (!visit(line, doc)) break;
  }
  return count;
}

}  // namespace ptq::io
