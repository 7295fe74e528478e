// Added (special) tokens of a tokenizer: strings matched in the input text before anything else, as
// Hugging Face tokenizers' AddedVocabulary does - leftmost match first, the longest one at a position,
// with each token's lstrip / rstrip / single_word flags. The text between matches goes to the model.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptq::tok {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool normalized = false;  // matched on the normalized text (else on the raw input)
  bool lstrip = false, rstrip = false, single_word = false;
};

// A piece of input: a matched added token (id >= 0) or text for the model (id == -1).
struct TextPiece {
  std::string_view text;
  int32_t id = -1;
  size_t offset = 0;  // byte offset of `text` in the input the split was given
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);
  // Splits `text` around the matches; pieces keep their order, empty text pieces are dropped.
  std::vector<TextPiece> split(std::string_view text, size_t base_offset = 0) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;  // longest first, so that the first hit at a position is the longest
  std::vector<std::vector<size_t>> by_first_byte_ = std::vector<std::vector<size_t>>(256);
};

}  // namespace ptq::tok
