// The BPE model of a Hugging Face tokenizer.json ("model": {"type": "BPE"}): a vocabulary, ranked merges,
// and the options the released vocabularies use (byte_fallback and fuse_unk for SentencePiece-style
// Llama-2/Mistral files; ignore_merges for Llama-3). Merges apply lowest rank first, leftmost first among
// equal ranks, as tokenizers' Rust BPE does (a priority queue over a linked list of symbols, so that a
// whole document encoded as one word - SentencePiece-style files have no pre-tokenizer - stays
// O(n log n)).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ptq::tok {

struct BpeOptions {
  bool byte_fallback = false;  // characters outside the vocabulary become <0xXX> byte tokens
  bool fuse_unk = false;       // consecutive unknown characters become one unk token
  bool ignore_merges = false;  // a word that is itself in the vocabulary is emitted whole
  std::optional<int32_t> unk_id;
};

class BpeModel {
 public:
  // InputError naming `source` for a merge whose parts or result are not in the vocabulary.
  BpeModel(std::unordered_map<std::string, int32_t> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           BpeOptions options, const std::string& source);

  // Appends the ids of one pre-tokenized word (in the vocabulary's alphabet, e.g. byte-level characters).
  void encode_word(std::string_view word, std::vector<int32_t>* out) const;

  std::optional<int32_t> id(std::string_view token) const;
  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }
  int32_t max_id() const { return max_id_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  std::vector<int32_t> initial_symbols(std::string_view word, std::vector<uint32_t>* lengths) const;
  void merge_symbols(std::vector<int32_t>& ids, std::vector<uint32_t>& lengths) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;  // key: (left id << 32) | right id
  BpeOptions options_;
  int32_t max_id_ = -1;
  std::array<int32_t, 256> byte_tokens_{};  // <0xXX> ids, -1 when absent
};

}  // namespace ptq::tok
