#include "harness/io/json_file.h"

#include "harness/io/files.h"

namespace ptq::io {

nlohmann::json read_json_file(const std::string& path, const JsonTextOptions& options) {
  return parse_json_text(read_file(path), path, options);
}

}  // namespace ptq::io
