// Small string helpers shared by the CLI and the data loaders.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptq {

std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool ends_with(std::string_view s, std::string_view suffix);
// "1.23 GiB", "512 B": binary units, for sizes shown to people.
std::string human_bytes(uint64_t bytes);
// "1h 02m 03s", "4m 05s", "12.3s": durations shown in progress lines.
std::string human_duration(double seconds);
// Display columns of UTF-8 text, counting each code point as one (enough for "±", "Δ", "†" in tables).
size_t utf8_width(std::string_view utf8);
// Python's str.isspace() for one Unicode code point (used to reproduce `row.strip()` exactly).
bool python_isspace(char32_t c);
// True when the UTF-8 text contains nothing but Python whitespace (Python `s.strip() == ""`).
bool python_is_blank(std::string_view utf8);
// Python's str.strip() / str.rstrip() (Unicode whitespace at both ends / at the end).
std::string python_strip(std::string_view utf8);
std::string python_rstrip(std::string_view utf8);
// Python's str.capitalize(): first character upper-cased, the rest lower-cased (simple Unicode case
// mapping through the C.UTF-8 locale; Python's few one-to-many mappings such as 'ß' -> 'SS' are not made).
std::string python_capitalize(std::string_view utf8);
// The Levenshtein-closest candidates, for "did you mean" hints on unknown names.
std::string closest_match(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace ptq
