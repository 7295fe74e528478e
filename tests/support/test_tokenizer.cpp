#include "tests/support/test_tokenizer.h"

#include "harness/model/tokenizer.h"
#include "tests/support/test_env.h"

#include <fmt/format.h>

#include <cstdint>
#include <vector>

namespace ptq::test {

std::string synthetic_text(int n_lines, uint32_t seed) {
  static const std::vector<std::string> words = {
      "the", "a", "model", "quantization", "weight", "activation", "scale", "of", "and", "is", "to", "in",
      "block", "layer", "error", "small", "large", "outlier", "channel", "token", "rounds", "learns", "clips",
      "river", "city", "history", "music", "war", "season", "game", "album", "song", "team", "year", "first"};
  uint32_t state = seed * 2654435761u + 1;
  const auto next = [&](uint32_t n) {
    state = state * 1664525u + 1013904223u;
    return (state >> 8) % n;
  };
  std::string out;
  for (int l = 0; l < n_lines; ++l) {
    const uint32_t len = 4 + next(10);
    for (uint32_t w = 0; w < len; ++w) {
      std::string word = words[next(static_cast<uint32_t>(words.size()))];
      if (w == 0) word[0] = static_cast<char>(word[0] - 'a' + 'A');
      out += (w ? " " : "") + word;
    }
    out += next(4) == 0 ? ", 1998 .\n" : " .\n";
  }
  return out;
}

std::string train_test_tokenizer(const std::string& dir) {
  const std::string corpus = dir + "/corpus.txt";
  write_text(corpus, synthetic_text(2000, 1));
  Tokenizer::train({"--input=" + corpus, "--model_prefix=" + dir + "/tok", "--vocab_size=400", "--model_type=bpe",
                    "--byte_fallback=true", "--character_coverage=1.0", "--unk_id=0", "--bos_id=1", "--eos_id=2",
                    "--pad_id=-1", "--hard_vocab_limit=false", "--num_threads=1",
                    // As Llama's tokenizer.model: no whitespace normalisation, so a separately encoded " yes"
                    // keeps a lone "▁" piece (the v0.3 / v0.4 difference the zero-shot tests look at).
                    "--normalization_rule_name=identity", "--remove_extra_whitespaces=false", "--split_digits=true",
                    "--allow_whitespace_only_pieces=true"});
  return dir + "/tok.model";
}

}  // namespace ptq::test
