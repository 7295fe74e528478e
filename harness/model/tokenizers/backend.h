// What every tokenizer format implements behind ptq::Tokenizer (model/tokenizer.h): a sentencepiece
// model, a Hugging Face tokenizer.json, Meta's tiktoken file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ptq::tok {

class TokenizerBackend {
 public:
  virtual ~TokenizerBackend() = default;
  // The ids of `text` with nothing added around it (no BOS/EOS); special-token strings in the text are
  // matched as special tokens where the format does so (tokenizer.json, tiktoken: see each format).
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // The vocabulary's spelling of one id; std::out_of_range outside the vocabulary.
  virtual std::string piece(int32_t id) const = 0;
};

// A loaded tokenizer: the backend plus what the harness needs to know about it.
struct LoadedTokenizer {
  std::shared_ptr<const TokenizerBackend> backend;
  std::string kind;                 // "sentencepiece", "tokenizer.json (byte-level BPE)", ...
  std::vector<std::string> files;   // what was read (every file's content is in `sha256`)
  std::string sha256;               // identity of the tokenizer: part of every token-cache key
  int vocab_size = 0;               // largest id + 1
  int bos_id = -1, eos_id = -1, unk_id = -1;
  // What tokenizer(text) puts around the text (Hugging Face semantics: the post-processor's template,
  // or add_bos_token / add_eos_token of tokenizer_config.json for Llama tokenizers).
  std::vector<int32_t> prefix_ids, suffix_ids;
  // Literal special-token strings are matched as special tokens (false: encoded as text).
  bool matches_special_strings = true;
};

}  // namespace ptq::tok
