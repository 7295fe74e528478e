#include "harness/model/tokenizers/tiktoken_llama3.h"

#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/io/sha256.h"
#include "harness/model/tokenizers/added_tokens.h"
#include "harness/model/tokenizers/regex_splitter.h"
#include "harness/model/tokenizers/unicode_text.h"
#include "harness/util/errors.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <climits>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <unordered_map>

namespace ptq::tok {

namespace {

// Meta's llama3 tokenizer.py: pat_str and num_reserved_special_tokens.
constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr int kNumSpecial = 256;

std::vector<std::string> llama3_special_names() {
  std::vector<std::string> names = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                                    "<|reserved_special_token_1|>", "<|reserved_special_token_2|>",
                                    "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
                                    "<|reserved_special_token_4|>", "<|eot_id|>"};
  for (int i = 5; names.size() < kNumSpecial; ++i) names.push_back(fmt::format("<|reserved_special_token_{}|>", i));
  return names;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view s) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    const int v = base64_value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

class TiktokenTokenizer final : public TokenizerBackend {
 public:
  TiktokenTokenizer(std::unordered_map<std::string, int32_t> ranks, std::vector<std::string> id_to_bytes,
                    AddedTokenMatcher specials, const std::string& source)
      : ranks_(std::move(ranks)), id_to_bytes_(std::move(id_to_bytes)), specials_(std::move(specials)),
        splitter_(kLlama3Pattern, source) {}

  std::vector<int32_t> encode(std::string_view text) const override {
    require_utf8(text, "tokenizer input");
    std::vector<int32_t> ids;
    for (const TextPiece& piece : specials_.split(text)) {
      if (piece.id >= 0) {
        ids.push_back(piece.id);
        continue;
      }
      for (const auto& [b, e] : splitter_.matches(piece.text)) encode_piece(piece.text.substr(b, e - b), &ids);
    }
    return ids;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (int32_t id : ids) out += piece(id);
    return out;
  }

  std::string piece(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= id_to_bytes_.size())
      throw std::out_of_range(fmt::format("token id {} is outside the vocabulary", id));
    return id_to_bytes_[id];
  }

 private:
  int32_t rank(std::string_view bytes) const {
    const auto it = ranks_.find(std::string(bytes));
    return it == ranks_.end() ? INT32_MAX : it->second;
  }

  // tiktoken's byte_pair_merge: boundaries over the bytes; merge the adjacent pair whose concatenation
  // has the lowest rank (leftmost on ties) until no pair is a token.
  void encode_piece(std::string_view piece, std::vector<int32_t>* ids) const {
    if (const int32_t whole = rank(piece); whole != INT32_MAX) {
      ids->push_back(whole);
      return;
    }
    std::vector<size_t> bounds(piece.size() + 1);
    for (size_t i = 0; i <= piece.size(); ++i) bounds[i] = i;
    while (bounds.size() > 2) {
      int32_t best = INT32_MAX;
      size_t at = 0;
      for (size_t i = 0; i + 2 < bounds.size(); ++i) {
        const int32_t r = rank(piece.substr(bounds[i], bounds[i + 2] - bounds[i]));
        if (r < best) {
          best = r;
          at = i;
        }
      }
      if (best == INT32_MAX) break;
      bounds.erase(bounds.begin() + static_cast<std::ptrdiff_t>(at) + 1);
    }
    for (size_t i = 0; i + 1 < bounds.size(); ++i) {
      const int32_t r = rank(piece.substr(bounds[i], bounds[i + 1] - bounds[i]));
      if (r == INT32_MAX) throw std::runtime_error("tiktoken: a single byte has no rank (the ranks file lacks a byte)");
      ids->push_back(r);
    }
  }

  std::unordered_map<std::string, int32_t> ranks_;
  std::vector<std::string> id_to_bytes_;
  AddedTokenMatcher specials_;
  RegexSplitter splitter_;
};

// added_tokens_decoder of a tokenizer_config.json: {"128000": {"content": "<|begin_of_text|>", ...}, ...}.
void override_special_names(const std::string& config_path, int32_t first_id, std::vector<std::string>* names) {
  if (config_path.empty()) return;
  const nlohmann::json config = io::read_json_file(config_path);
  if (!config.contains("added_tokens_decoder") || !config["added_tokens_decoder"].is_object()) return;
  for (const auto& [key, value] : config["added_tokens_decoder"].items()) {
    char* end = nullptr;
    const long id = std::strtol(key.c_str(), &end, 10);
    if (*end != '\0' || id < first_id || id >= first_id + kNumSpecial || !value.contains("content")) continue;
    if (!value["content"].is_string())
      throw InputError(fmt::format("{}: added_tokens_decoder[\"{}\"].content is not a string", config_path, key));
    (*names)[static_cast<size_t>(id - first_id)] = value["content"].get<std::string>();
  }
}

}  // namespace

bool looks_like_tiktoken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= line.size()) return false;
  for (size_t i = 0; i < space; ++i)
    if (base64_value(line[i]) < 0 && line[i] != '=') return false;
  for (size_t i = space + 1; i < line.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(line[i]))) return false;
  return true;
}

LoadedTokenizer load_tiktoken_llama3(const std::string& model_path, const std::string& config_path) {
  const std::string text = io::read_file(model_path);
  std::unordered_map<std::string, int32_t> ranks;
  std::vector<std::string> id_to_bytes;
  size_t line_no = 0;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + at, end - at);
    at = end + 1;
    ++line_no;
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    const auto bytes = space == std::string_view::npos ? std::nullopt : base64_decode(line.substr(0, space));
    char* stop = nullptr;
    const std::string rank_text(line.substr(space == std::string_view::npos ? line.size() : space + 1));
    const long rank = std::strtol(rank_text.c_str(), &stop, 10);
    if (!bytes || bytes->empty() || rank_text.empty() || *stop != '\0' || rank != static_cast<long>(id_to_bytes.size()))
      throw InputError(fmt::format("{}: line {} is not \"<base64 token> {}\" (tiktoken ranks are consecutive from 0)",
                                   model_path, line_no, id_to_bytes.size()));
    if (!ranks.emplace(*bytes, static_cast<int32_t>(rank)).second)
      throw InputError(fmt::format("{}: line {} repeats the token of rank {}", model_path, line_no, ranks.at(*bytes)));
    id_to_bytes.push_back(*bytes);
  }
  if (id_to_bytes.size() < 256) throw InputError(fmt::format("{}: {} ranks, expected a tiktoken vocabulary (>= 256)", model_path, id_to_bytes.size()));
  // Byte-pair merging ends at single bytes: a vocabulary without one of them cannot encode every text
  // (found by fuzzing: the encoder failed far from the file).
  for (int b = 0; b < 256; ++b)
    if (ranks.count(std::string(1, static_cast<char>(b))) == 0)
      throw InputError(fmt::format("{}: byte 0x{:02x} has no rank (a tiktoken vocabulary ranks all 256 single bytes)",
                                   model_path, b));

  const auto first_special = static_cast<int32_t>(id_to_bytes.size());
  std::vector<std::string> names = llama3_special_names();
  override_special_names(config_path, first_special, &names);
  std::vector<AddedToken> specials;
  for (int i = 0; i < kNumSpecial; ++i) {
    specials.push_back({names[i], first_special + i, true});
    id_to_bytes.push_back(names[i]);
  }

  LoadedTokenizer t;
  t.kind = "tiktoken (Llama-3 tokenizer.model)";
  t.files = {model_path};
  std::string identity = "tiktoken:" + io::sha256_hex(text);
  if (!config_path.empty()) {
    t.files.push_back(config_path);
    identity += ";tokenizer_config.json:" + io::sha256_file(config_path);
  }
  t.sha256 = io::sha256_hex(identity);
  t.vocab_size = static_cast<int>(id_to_bytes.size());
  t.bos_id = first_special;       // <|begin_of_text|>
  t.eos_id = first_special + 1;   // <|end_of_text|>
  t.prefix_ids = {t.bos_id};
  t.backend = std::make_shared<TiktokenTokenizer>(std::move(ranks), std::move(id_to_bytes), AddedTokenMatcher(std::move(specials)),
                                                  model_path);
  return t;
}

}  // namespace ptq::tok
