// A compiled split pattern of a tokenizer (PCRE2 from Debian, UTF + Unicode properties, JIT when
// available): the pre-tokenizer regexes of tokenizer.json and tiktoken need \p{L}, \p{N}, (?i:...) and
// lookahead such as \s+(?!\S).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptq::tok {

class RegexSplitter {
 public:
  // InputError naming `source` and the pattern's error offset when it does not compile.
  RegexSplitter(const std::string& pattern, const std::string& source);
  // The non-overlapping matches of the pattern in `text` (valid UTF-8), left to right, as [begin, end)
  // byte ranges. Empty matches are skipped.
  std::vector<std::pair<size_t, size_t>> matches(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
  std::string pattern_;
};

}  // namespace ptq::tok
