#include "harness/util/json_text.h"

#include "harness/util/input_limits.h"

#include <fmt/format.h>

#include <iterator>
#include <utility>
#include <vector>

namespace ptq {

namespace {

using nlohmann::json;

// A character iterator that records how far the parser has read: SAX events carry no position, and
// messages need the line of a duplicate key or of the bracket that went too deep.
class TrackedIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedIterator(const char* p, const char** reached) : p_(p), reached_(reached) {}
  reference operator*() const { return *p_; }
  TrackedIterator& operator++() {
    *reached_ = ++p_;
    return *this;
  }
  TrackedIterator operator++(int) {
    TrackedIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackedIterator& o) const { return p_ == o.p_; }
  bool operator!=(const TrackedIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_;
  const char** reached_;
};

struct Position {
  size_t line, column;
};

// Line and column (1-based) of byte `offset` of `text`.
Position position_of(std::string_view text, size_t offset, size_t first_line) {
  Position at{first_line, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
  }
  return at;
}

std::string depth_env_var() {
  for (const auto& row : input_limits())
    if (row.limit == Limit::kJsonDepth) return limit_env_var(row);
  return "PTQBENCH_MAX_JSON_DEPTH";
}

// nlohmann's message without its "[json.exception...] parse error at line L, column C: " prefix (we say
// where ourselves), with the token it quotes cut to a bounded excerpt (it can be a 1 MB string).
std::string syntax_detail(const std::string& what, const std::string& token) {
  std::string detail = what;
  const size_t column = detail.find("column ");
  const size_t colon = detail.find(": ", column == std::string::npos ? 0 : column);
  if (colon != std::string::npos) detail = detail.substr(colon + 2);
  const std::string quoted = "'" + token + "'";
  const size_t at = detail.find(quoted);
  if (!token.empty() && at != std::string::npos)
    detail.replace(at, quoted.size(), "'" + bounded_excerpt(token) + "'");
  return detail.size() > 400 ? bounded_excerpt(detail) : detail;
}

// Builds the DOM as nlohmann's own SAX DOM parser does (linear: every value is placed once), with an
// explicit stack of open containers instead of recursion, refusing to open one past the depth limit.
class BoundedDomBuilder {
 public:
  BoundedDomBuilder(json& root, std::string_view text, const std::string& source, const JsonTextOptions& options,
                    const char** reached)
      : root_(root), text_(text), source_(source), options_(options), reached_(reached),
        max_depth_(static_cast<size_t>(limit_value(Limit::kJsonDepth))) {}

  bool null() { return add(json(nullptr)); }
  bool boolean(bool v) { return add(json(v)); }
  bool number_integer(json::number_integer_t v) { return add(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return add(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return add(json(v)); }
  bool string(json::string_t& v) { return add(json(std::move(v))); }
  bool binary(json::binary_t& v) { return add(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(json::string_t& k) {
    json::object_t& object = *stack_.back()->get_ptr<json::object_t*>();
    if (options_.reject_duplicate_keys && object.find(k) != object.end()) {
      const Position at = position_of(text_, offset(), options_.first_line);
      throw InputError(fmt::format("{}: key \"{}\" appears twice in the same object (line {})", source_,
                                   bounded_excerpt(k), at.line));
    }
    pending_ = &object[k];  // a repeated key without the option: the last value wins, as in nlohmann
    return true;
  }

  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& e) {
    if (e.id == 406) {  // out_of_range: a number beyond a double
      const size_t start = position >= token.size() ? position - token.size() : 0;
      const Position at = position_of(text_, start, options_.first_line);
      throw InputError(fmt::format("{}: number {} at line {}, column {} is out of range (a JSON number must fit "
                                   "a double, at most about 1.8e308)", source_, bounded_excerpt(token), at.line,
                                   at.column));
    }
    const Position at = position_of(text_, position > 0 ? position - 1 : 0, options_.first_line);
    const std::string detail = syntax_detail(e.what(), token);
    const std::string message = fmt::format("{}: invalid JSON at line {}, column {}: {}", source_, at.line, at.column, detail);
    throw JsonSyntaxError(message, at.line, at.column, detail);
  }

 private:
  size_t offset() const { return static_cast<size_t>(*reached_ - text_.data()); }

  // Places `v` in the open container (or as the root); returns where it now lives.
  json* place(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json& parent = *stack_.back();
    if (parent.is_array()) {
      json::array_t& array = *parent.get_ptr<json::array_t*>();
      array.push_back(std::move(v));
      return &array.back();
    }
    *pending_ = std::move(v);
    return pending_;
  }
  bool add(json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(json::value_t type) {
    if (stack_.size() >= max_depth_) {
      // The reader stands just past the bracket that opens level max_depth + 1.
      const Position at = position_of(text_, offset() > 0 ? offset() - 1 : 0, options_.first_line);
      throw InputError(fmt::format("{}: JSON nested deeper than {} levels at line {}, column {} ({} raises it)",
                                   source_, max_depth_, at.line, at.column, depth_env_var()));
    }
    stack_.push_back(place(json(type)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  json& root_;
  std::string_view text_;
  const std::string& source_;
  const JsonTextOptions& options_;
  const char** reached_;
  size_t max_depth_;
  std::vector<json*> stack_;  // the open containers, innermost last (at most max_depth_)
  json* pending_ = nullptr;   // the object member the next value goes to
};

}  // namespace

json parse_json_text(std::string_view text, const std::string& source, const JsonTextOptions& options) {
  json root;
  const char* reached = text.data();
  BoundedDomBuilder builder(root, text, source, options, &reached);
  const TrackedIterator first(text.data(), &reached), last(text.data() + text.size(), &reached);
  json::sax_parse(first, last, &builder, json::input_format_t::json, /*strict=*/true);
  return root;
}

}  // namespace ptq
