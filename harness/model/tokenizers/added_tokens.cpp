#include "harness/model/tokenizers/added_tokens.h"

#include <algorithm>
#include <cctype>

namespace ptq::tok {

namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
// A word character for single_word tokens: ASCII alphanumerics, '_' and every non-ASCII byte.
bool is_word_byte(unsigned char c) { return c >= 0x80 || std::isalnum(c) || c == '_'; }

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  tokens_.erase(std::remove_if(tokens_.begin(), tokens_.end(), [](const AddedToken& t) { return t.content.empty(); }),
                tokens_.end());
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  for (size_t i = 0; i < tokens_.size(); ++i) by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(i);
}

std::vector<TextPiece> AddedTokenMatcher::split(std::string_view text, size_t base_offset) const {
  std::vector<TextPiece> out;
  size_t plain_begin = 0;
  const auto flush = [&](size_t end) {
    if (end > plain_begin) out.push_back({text.substr(plain_begin, end - plain_begin), -1, base_offset + plain_begin});
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const auto& candidates = by_first_byte_[static_cast<unsigned char>(text[i])];
    const AddedToken* hit = nullptr;
    for (size_t k : candidates) {
      const AddedToken& t = tokens_[k];
      if (text.compare(i, t.content.size(), t.content) != 0) continue;
      if (t.single_word) {
        const size_t end = i + t.content.size();
        if ((i > 0 && is_word_byte(text[i - 1])) || (end < text.size() && is_word_byte(text[end]))) continue;
      }
      hit = &t;
      break;
    }
    if (hit == nullptr) continue;
    size_t begin = i, end = i + hit->content.size();
    if (hit->lstrip)
      while (begin > plain_begin && is_space(static_cast<unsigned char>(text[begin - 1]))) --begin;
    if (hit->rstrip)
      while (end < text.size() && is_space(static_cast<unsigned char>(text[end]))) ++end;
    flush(begin);
    out.push_back({text.substr(begin, end - begin), hit->id, base_offset + begin});
    plain_begin = end;
    i = end - 1;
  }
  flush(text.size());
  return out;
}

}  // namespace ptq::tok
