// tokenizer.json and tiktoken tokenizers on small hand-made vocabularies, with every expected id derived
// by hand in the comments (the real vocabularies are checked against the npm references in
// test_tokenizer_parity.cpp).
#include "harness/model/tokenizer.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>

using Catch::Matchers::Contains;
using nlohmann::json;
using Ids = std::vector<int32_t>;

namespace {

// Byte-level BPE (the Llama-3 / Qwen layout): h e l o Ġ w r d are ids 0-7; merges he, ll, hell, hello, Ġw.
json byte_level_json(bool ignore_merges) {
  json vocab = {{"h", 0}, {"e", 1}, {"l", 2}, {"o", 3}, {"\xC4\xA0", 4}, {"w", 5}, {"r", 6}, {"d", 7},
                {"he", 8}, {"ll", 9}, {"hell", 10}, {"hello", 11}, {"\xC4\xA0w", 12}, {"rd", 15}};
  return {
      {"added_tokens", {{{"id", 13}, {"content", "<|x|>"}, {"special", true}, {"normalized", false}},
                        {{"id", 14}, {"content", "<s>"}, {"special", true}, {"normalized", false}}}},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", " ?\\p{L}+|\\s+"}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {14}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false}, {"ignore_merges", ignore_merges},
        {"vocab", vocab}, {"merges", {"h e", "l l", "he ll", "hell o", "\xC4\xA0 w"}}}}};
}

// SentencePiece-style BPE (the Llama-2 / Mistral fast layout): Prepend + Replace normalizers, byte fallback.
json sentencepiece_style_json() {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}, {"<0xC3>", 3}, {"<0xA9>", 4}, {"\xE2\x96\x81", 5},
                {"a", 6}, {"b", 7}, {"\xE2\x96\x81" "a", 8}, {"ab", 9}, {"\xE2\x96\x81" "ab", 10}};
  return {
      {"added_tokens", {{{"id", 0}, {"content", "<unk>"}, {"special", true}, {"normalized", false}},
                        {{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                        {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers", {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                         {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                      {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                      {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"}, {"fuse_unk", true}, {"byte_fallback", true},
        {"vocab", vocab}, {"merges", json::array({json::array({"\xE2\x96\x81", "a"}), json::array({"a", "b"}),
                                json::array({"\xE2\x96\x81" "a", "b"})})}}}};
}

std::string write_tokenizer(const ptq::test::TempDir& dir, const json& j, const json& config = nullptr) {
  ptq::test::write_text(dir.file("tokenizer.json"), j.dump());
  if (!config.is_null()) ptq::test::write_text(dir.file("tokenizer_config.json"), config.dump());
  return dir.path();
}

std::string base64(const std::string& bytes) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int k = 3; k >= 0; --k) out += abc[(v >> (6 * k)) & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += abc[(v >> 18) & 63];
    out += abc[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? abc[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

TEST_CASE("byte-level BPE (tokenizer.json) merges by rank, matches added tokens and adds the template's BOS",
          "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(write_tokenizer(dir, byte_level_json(false)));
  CHECK(tok.kind() == "tokenizer.json (byte-level BPE)");
  CHECK(tok.vocab_size() == 16);
  // "hello": he (rank 0), ll (1), hell (2), hello (3). " world": Ġw (4) then o r l d.
  CHECK(tok.encode("hello world") == Ids{11, 12, 3, 6, 2, 7});
  // The added token splits the text first; "rd" is in the vocabulary but no merge makes it.
  CHECK(tok.encode("hello<|x|> world") == Ids{11, 13, 12, 3, 6, 2, 7});
  CHECK(tok.encode_input("hello") == Ids{14, 11});
  CHECK(tok.adds_bos());
  CHECK(tok.bos_id() == 14);
  CHECK(tok.added_tokens_description() == "bos+text");
  CHECK(tok.decode({11, 12, 3, 6, 2, 7}) == "hello world");
  CHECK(tok.piece(12) == "\xC4\xA0w");
  CHECK_THROWS_AS(tok.piece(16), std::out_of_range);
}

TEST_CASE("ignore_merges emits a word that is in the vocabulary whole", "[unit][tokenizer]") {
  ptq::test::TempDir with, without;
  CHECK(ptq::Tokenizer::load(write_tokenizer(without, byte_level_json(false))).encode("rd") == Ids{6, 7});
  CHECK(ptq::Tokenizer::load(write_tokenizer(with, byte_level_json(true))).encode("rd") == Ids{15});
}

TEST_CASE("SentencePiece-style BPE (tokenizer.json): metaspace, leftmost merges, byte fallback, fused unknowns",
          "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  const auto tok = ptq::Tokenizer::load(write_tokenizer(dir, sentencepiece_style_json()));
  CHECK(tok.kind() == "tokenizer.json (SentencePiece-style BPE)");
  // "ab ab" -> "▁ab▁ab": "▁ a" merges at 0 and 3, then "▁a b" twice.
  CHECK(tok.encode("ab ab") == Ids{10, 10});
  // "é" is not in the vocabulary: its two bytes; "zz": one fused <unk>.
  CHECK(tok.encode("é") == Ids{5, 3, 4});
  CHECK(tok.encode("zz") == Ids{5, 0});
  CHECK(tok.unk_id() == 0);
  // "<s>" in the text is the special token; the text after it gets its own "▁" (the legacy normalizer).
  CHECK(tok.encode("a<s>b") == Ids{8, 1, 5, 7});
  CHECK(tok.encode_input("ab") == Ids{1, 10});
  CHECK(tok.decode({10, 10}) == "ab ab");
  CHECK(tok.decode({5, 3, 4}) == "é");
}

TEST_CASE("tokenizer_config.json's add_bos_token / add_eos_token rebuild a Llama tokenizer's template",
          "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  const json config = {{"tokenizer_class", "LlamaTokenizer"}, {"add_bos_token", false}, {"add_eos_token", true},
                       {"bos_token", "<s>"}, {"eos_token", {{"content", "</s>"}}}};
  const auto tok = ptq::Tokenizer::load(write_tokenizer(dir, sentencepiece_style_json(), config));
  CHECK(tok.encode_input("ab") == Ids{10, 2});
  CHECK_FALSE(tok.adds_bos());
  CHECK(tok.added_tokens_description() == "text+eos");
  CHECK(tok.eos_id() == 2);
  // Another class keeps the file's template (transformers' PreTrainedTokenizerFast ignores the flags).
  ptq::test::TempDir other;
  json qwen = config;
  qwen["tokenizer_class"] = "Qwen2Tokenizer";
  CHECK(ptq::Tokenizer::load(write_tokenizer(other, sentencepiece_style_json(), qwen)).encode_input("ab") == Ids{1, 10});
}

TEST_CASE("tokenizer.json without BOS (Qwen) and with split_special_tokens", "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  json j = byte_level_json(false);
  j["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  const auto tok = ptq::Tokenizer::load(write_tokenizer(dir, j, {{"bos_token", nullptr}, {"split_special_tokens", true}}));
  CHECK(tok.bos_id() == -1);
  CHECK_FALSE(tok.adds_bos());
  CHECK(tok.encode_input("hello") == Ids{11});
  CHECK_FALSE(tok.matches_special_strings());
  // "<|x|>" is text now: < | x | > are not in this vocabulary and there is no unk token, so they vanish.
  CHECK(tok.encode("hello<|x|>") == Ids{11});
}

TEST_CASE("added tokens with lstrip / rstrip take the whitespace around them", "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  json j = byte_level_json(false);
  j["added_tokens"][0]["lstrip"] = true;
  j["added_tokens"][0]["rstrip"] = true;
  const auto tok = ptq::Tokenizer::load(write_tokenizer(dir, j));
  // Without the strips " <|x|> hello" would give Ġ, 13, Ġ h e l l o -> [4, 13, 4, 11]... with them: [13, 11].
  CHECK(tok.encode(" <|x|> hello") == Ids{13, 11});
}

TEST_CASE("Llama-3's tiktoken tokenizer.model: ranks, merges by byte-string rank, 256 special tokens",
          "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  std::string file;
  for (int b = 0; b < 256; ++b) file += base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(b) + "\n";
  file += base64("he") + " 256\n" + base64("ll") + " 257\n" + base64("hell") + " 258\n";
  ptq::test::write_text(dir.file("tokenizer.model"), file);
  const auto tok = ptq::Tokenizer::load(dir.path());
  CHECK(tok.kind() == "tiktoken (Llama-3 tokenizer.model)");
  CHECK(tok.vocab_size() == 259 + 256);
  // " hello" is one piece of the Llama-3 pattern; its bytes merge he (256), ll (257), hell (258), then o.
  CHECK(tok.encode(" hello") == Ids{32, 258, 111});
  // <|begin_of_text|> = first special (259); <|eot_id|> is the tenth special.
  CHECK(tok.encode_input("hello") == Ids{259, 258, 111});
  CHECK(tok.encode("a<|eot_id|>") == Ids{97, 268});
  CHECK(tok.piece(268) == "<|eot_id|>");
  // Digits group by at most three; "1234" is two pieces.
  CHECK(tok.encode("1234") == Ids{'1', '2', '3', '4'});
  CHECK(tok.decode({32, 258, 111}) == " hello");
  // A vocabulary without one of the 256 single bytes cannot encode every text: refused at load, naming
  // the byte (found by tests/fuzz/fuzz_tiktoken: the encoder used to fail far from the file).
  std::string no_byte_7;
  for (int b = 0, rank = 0; b < 256; ++b)
    if (b != 7) no_byte_7 += base64(std::string(1, static_cast<char>(b))) + " " + std::to_string(rank++) + "\n";
  no_byte_7 += base64("he") + " 255\n";
  ptq::test::write_text(dir.file("tokenizer.model"), no_byte_7);
  CHECK_THROWS_WITH(ptq::Tokenizer::load(dir.path()), Contains("byte 0x07 has no rank"));
  ptq::test::write_text(dir.file("tokenizer.model"), file + base64("he") + " 259\n");
  CHECK_THROWS_WITH(ptq::Tokenizer::load(dir.path()), Contains("line 260 repeats the token of rank 256"));
}

TEST_CASE("malformed or unsupported tokenizer files are input errors naming the file and key", "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  json j = byte_level_json(false);
  j["model"]["type"] = "WordPiece";
  CHECK_THROWS_WITH(ptq::Tokenizer::load(write_tokenizer(dir, j)), Contains("model.type \"WordPiece\" is not supported"));
  j = byte_level_json(false);
  j["pre_tokenizer"]["pretokenizers"][0]["type"] = "BertPreTokenizer";
  CHECK_THROWS_WITH(ptq::Tokenizer::load(write_tokenizer(dir, j)),
                    Contains("pre_tokenizer.pretokenizers[0] of type \"BertPreTokenizer\" is not supported"));
  j = byte_level_json(false);
  j["model"]["merges"].push_back("h q");
  CHECK_THROWS_WITH(ptq::Tokenizer::load(write_tokenizer(dir, j)), Contains("merge 5 \"h q\" uses a token that is not in the vocabulary"));
  j = byte_level_json(false);
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  CHECK_THROWS_AS(ptq::Tokenizer::load(write_tokenizer(dir, j)), ptq::InputError);
  ptq::test::write_text(dir.file("tokenizer.json"), "{\"model\": ");
  CHECK_THROWS_AS(ptq::Tokenizer::load(dir.file("tokenizer.json")), ptq::InputError);
  // A component whose "type" is not a string (found by tests/fuzz/fuzz_hf_tokenizer) is the file's fault.
  j = byte_level_json(false);
  j["decoder"] = {{"type", 0}};
  CHECK_THROWS_WITH(ptq::Tokenizer::load(write_tokenizer(dir, j)), Contains("a value has an unexpected JSON type"));
  // Text that is not UTF-8 is refused with its byte offset, not tokenized into garbage.
  const auto tok = ptq::Tokenizer::load(write_tokenizer(dir, byte_level_json(false)));
  CHECK_THROWS_WITH(tok.encode("he\xFFllo"), Contains("not valid UTF-8 (byte offset 2, byte 0xFF)"));
  ptq::test::TempDir empty;
  CHECK_THROWS_WITH(ptq::Tokenizer::load(empty.path()), Contains("no tokenizer"));
}

TEST_CASE("a model directory's tokenizer: sentencepiece first, then tokenizer.json, then original/", "[unit][tokenizer]") {
  ptq::test::TempDir dir;
  CHECK_FALSE(ptq::Tokenizer::find_in(dir.path()));
  std::filesystem::create_directories(dir.file("original"));
  ptq::test::write_text(dir.file("original/tokenizer.model"), base64("a") + " 0\n");
  CHECK(*ptq::Tokenizer::find_in(dir.path()) == dir.file("original/tokenizer.model"));
  write_tokenizer(dir, byte_level_json(false));
  CHECK(*ptq::Tokenizer::find_in(dir.path()) == dir.file("tokenizer.json"));
  CHECK(ptq::Tokenizer::files_in(dir.path()) == std::vector<std::string>{"tokenizer.json", "original/tokenizer.model"});
}
