// The one JSON parser for user input (issue #29). Every document ptqbench reads from a user (experiment
// files, config.json, tokenizer files, task files, plans, --config) goes through parse_json_text, which
//  - bounds the nesting depth (Limit::kJsonDepth, PTQBENCH_MAX_JSON_DEPTH) without recursing, so that a
//    value nested 100 000 deep is one line of error, not a stack overflow; a document it accepts is at
//    most that deep, so dumping, copying or destroying it later cannot recurse further either;
//  - reports syntax errors, numbers beyond a double (1e400) and, on request, duplicate keys as InputError
//    with the line and column, echoing at most a bounded excerpt of the offending text;
//  - builds the DOM in linear time (its own SAX handler; nlohmann's callback parser is quadratic on
//    large objects).
// LibTorch-free: the fuzz targets compile it.
#pragma once

#include "harness/util/errors.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace ptq {

struct JsonTextOptions {
  // Experiment files and --config: a key given twice in one object is an error (nlohmann keeps the last
  // one silently), at every depth.
  bool reject_duplicate_keys = false;
  // The line number of the text's first line in messages (a JSON-lines record: its line in the file).
  size_t first_line = 1;
};

// A syntax error (not depth, number range or duplicates): the pieces, for readers that word it their way.
class JsonSyntaxError : public InputError {
 public:
  JsonSyntaxError(const std::string& message, size_t line, size_t column, std::string detail)
      : InputError(message), line(line), column(column), detail(std::move(detail)) {}
  size_t line, column;
  std::string detail;  // "syntax error while parsing value - invalid literal; last read: 'tru'" (bounded)
};

// Parses `text`; `source` names it in messages ("experiments/x.json", "--config argument"). Throws
// JsonSyntaxError "<source>: invalid JSON at line L, column C: <detail>", or InputError for a document
// nested deeper than the limit, a number out of range, or (with the option) a duplicate key.
nlohmann::json parse_json_text(std::string_view text, const std::string& source, const JsonTextOptions& options = {});

}  // namespace ptq
