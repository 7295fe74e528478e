#include "harness/io/json_file.h"

#include "harness/io/files.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

namespace ptq::io {

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // Turn the byte offset into line:column, which is what people look for in an editor.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    std::string what = e.what();
    const auto colon = what.rfind(": ");
    throw InputError(fmt::format("{}: invalid JSON at line {}, column {}: {}", path, line, col,
                                 colon == std::string::npos ? what : what.substr(colon + 2)));
  }
}

}  // namespace ptq::io
