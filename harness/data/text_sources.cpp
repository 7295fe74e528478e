#include "harness/data/text_sources.h"

#include "harness/io/files.h"
#include "harness/io/jsonl.h"
#include "harness/util/errors.h"
#include "harness/util/text.h"
#include "harness/util/utf8.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::eval {

std::string wikitext_join(std::string_view raw) {
  // Universal newlines: "\r\n" and lone "\r" read as "\n" in Python's text mode.
  std::string text;
  text.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      text += '\n';
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
    } else {
      text += raw[i];
    }
  }
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  bool first = true;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;  // the row keeps its "\n"
    const std::string_view row(text.data() + pos, end - pos);
    if (!first) out += "\n\n";
    first = false;
    if (!python_is_blank(row)) out += row;
    pos = end;
  }
  return out;
}

std::string read_text_file(const std::string& path) {
  std::string text = io::read_file(path);
  require_utf8(text, path);
  return text;
}

std::vector<std::string> read_c4_texts(const std::string& path, size_t max_docs) {
  std::vector<std::string> texts;
  io::for_each_json_line_in(read_text_file(path), path, [&](size_t line, const nlohmann::json& doc) {
    if (!doc.contains("text") || !doc["text"].is_string())
      throw InputError(fmt::format("{}: line {} has no string \"text\" field, expected a C4 document", path, line));
    texts.push_back(doc["text"].get<std::string>());
    return max_docs == 0 || texts.size() < max_docs;
  });
  if (texts.empty()) throw InputError(fmt::format("{}: no documents found, expected C4 JSON lines", path));
  return texts;
}

JsonlSource parse_jsonl_source(const std::string& spec) {
  JsonlSource s;
  s.path = spec;
  const size_t hash = spec.rfind('#');
  if (hash != std::string::npos && !io::file_exists(spec)) {
    s.path = spec.substr(0, hash);
    s.field = spec.substr(hash + 1);
    if (s.field.empty()) throw InputError(fmt::format("{}: empty field name after '#', expected PATH or PATH#FIELD", spec));
  }
  io::require_file(s.path, "JSON-lines data file");
  return s;
}

std::vector<std::string> read_jsonl_texts(const JsonlSource& source) {
  std::vector<std::string> texts;
  io::for_each_json_line_in(read_text_file(source.path), source.path, [&](size_t line, const nlohmann::json& doc) {
    if (!doc.is_object() || !doc.contains(source.field) || !doc[source.field].is_string())
      throw InputError(fmt::format("{}: line {} has no string \"{}\" field", source.path, line, source.field));
    texts.push_back(doc[source.field].get<std::string>());
    return true;
  });
  if (texts.empty()) throw InputError(fmt::format("{}: no documents found, expected JSON lines", source.path));
  return texts;
}

std::string resolve_data_file(const std::string& path, const std::vector<std::string>& canonical_names,
                              std::string_view what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(fmt::format("{} not found: {}", what, path));
  if (!fs::is_directory(path, ec)) return path;
  std::vector<std::string> tried;
  for (const auto& name : canonical_names)
    for (const char* sub : {"", "en"}) {
      const std::string p = (fs::path(path) / sub / name).string();
      if (io::file_exists(p)) return p;
      tried.push_back(fs::path(sub) / name);
    }
  throw InputError(fmt::format("{} not found in directory {} (looked for {})", what, path, join(tried, ", ")));
}

}  // namespace ptq::eval
