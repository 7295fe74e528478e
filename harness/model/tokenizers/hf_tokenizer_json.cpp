#include "harness/model/tokenizers/hf_tokenizer_json.h"

#include "harness/io/files.h"
#include "harness/io/json_file.h"
#include "harness/io/sha256.h"
#include "harness/model/tokenizers/added_tokens.h"
#include "harness/model/tokenizers/bpe_model.h"
#include "harness/model/tokenizers/hf_pipeline.h"
#include "harness/model/tokenizers/unicode_text.h"
#include "harness/util/errors.h"
#include "harness/util/input_limits.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>

namespace ptq::tok {

namespace {

using nlohmann::json;

class HfJsonTokenizer final : public TokenizerBackend {
 public:
  HfJsonTokenizer(HfPipeline pipeline, BpeModel model, AddedTokenMatcher raw_added, AddedTokenMatcher normalized_added,
                  std::vector<std::optional<std::string>> id_to_token)
      : pipeline_(std::move(pipeline)), model_(std::move(model)), raw_added_(std::move(raw_added)),
        normalized_added_(std::move(normalized_added)), id_to_token_(std::move(id_to_token)) {}

  std::vector<int32_t> encode(std::string_view text) const override {
    require_utf8(text, "tokenizer input");
    std::vector<int32_t> ids;
    for (const TextPiece& piece : raw_added_.split(text)) {
      if (piece.id >= 0) {
        ids.push_back(piece.id);
        continue;
      }
      const std::string normalized = pipeline_.normalize(piece.text);
      for (const TextPiece& inner : normalized_added_.split(normalized, piece.offset)) {
        if (inner.id >= 0) ids.push_back(inner.id);
        else encode_segment(inner.text, piece.offset, &ids);
      }
    }
    return ids;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) tokens.push_back(piece(id));
    pipeline_.decode(tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
  }

  std::string piece(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !id_to_token_[id])
      throw std::out_of_range(fmt::format("token id {} is outside the vocabulary", id));
    return *id_to_token_[id];
  }

 private:
  // One normalized segment between added tokens: pre-tokenize, then the BPE model word by word.
  void encode_segment(std::string_view text, size_t offset, std::vector<int32_t>* ids) const {
    std::vector<PreToken> words{{std::string(text), offset}};
    pipeline_.pre_tokenize(words);
    for (const auto& w : words) model_.encode_word(w.text, ids);
  }

  HfPipeline pipeline_;
  BpeModel model_;
  AddedTokenMatcher raw_added_, normalized_added_;
  std::vector<std::optional<std::string>> id_to_token_;
};

std::vector<std::pair<std::string, std::string>> read_merges(const json& model, const std::string& source) {
  std::vector<std::pair<std::string, std::string>> merges;
  const json& list = model.value("merges", json::array());
  merges.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& m = list[i];
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      continue;
    }
    const std::string s = m.is_string() ? m.get<std::string>() : std::string();
    const size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
      throw InputError(fmt::format("{}: model.merges[{}] is {}, expected \"left right\" or [left, right]", source, i, bounded_excerpt(m.dump())));
    merges.emplace_back(s.substr(0, space), s.substr(space + 1));
  }
  return merges;
}

std::unordered_map<std::string, int32_t> read_vocab(const json& model, const std::string& source) {
  if (!model.contains("vocab") || !model["vocab"].is_object())
    throw InputError(fmt::format("{}: model.vocab is missing or not an object of token -> id", source));
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(model["vocab"].size());
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (int64_t{1} << 24))
      throw InputError(fmt::format("{}: model.vocab[\"{}\"] is {}, expected an id in [0, 16777216]", source, bounded_excerpt(token), bounded_excerpt(id.dump())));
    vocab.emplace(token, id.get<int32_t>());
  }
  return vocab;
}

std::vector<AddedToken> read_added_tokens(const json& j, const std::string& source) {
  std::vector<AddedToken> out;
  const json& list = j.value("added_tokens", json::array());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& a = list[i];
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string())
      throw InputError(fmt::format("{}: added_tokens[{}] is {}, expected an object with an integer id and a string "
                                   "content", source, i, bounded_excerpt(a.dump())));
    // An id sizes the id -> token table: bounded like the vocabulary (found by fuzz_hf_tokenizer, a 60 GB
    // allocation for one large id).
    if (a["id"].get<int64_t>() < 0 || a["id"].get<int64_t>() >= limit_value(Limit::kVocabulary))
      throw InputError(fmt::format("{}: added_tokens[{}].id {} is outside 0..{} (the vocabulary limit)", source, i,
                                   a["id"].get<int64_t>(), limit_value(Limit::kVocabulary) - 1));
    AddedToken t;
    t.id = a["id"].get<int32_t>();
    t.content = a["content"].get<std::string>();
    t.special = a.value("special", false);
    t.normalized = a.value("normalized", !t.special);
    t.lstrip = a.value("lstrip", false);
    t.rstrip = a.value("rstrip", false);
    t.single_word = a.value("single_word", false);
    out.push_back(std::move(t));
  }
  return out;
}

BpeModel read_model(const json& j, const std::string& source, int32_t* unk_id) {
  const json& model = j.value("model", json());
  if (!model.is_object()) throw InputError(fmt::format("{}: \"model\" is missing", source));
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE")
    throw InputError(fmt::format("{}: model.type \"{}\" is not supported (expected BPE: Llama, Mistral, Qwen)", source, type));
  if (!model.value("dropout", json()).is_null())
    throw InputError(fmt::format("{}: model.dropout is {}, expected null (BPE dropout makes encoding random)", source,
                                 bounded_excerpt(model["dropout"].dump())));
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(affix) && model[affix].is_string() && !model[affix].get<std::string>().empty())
      throw InputError(fmt::format("{}: model.{} \"{}\" is not supported (expected null or \"\")", source, affix,
                                   model[affix].get<std::string>()));
  auto vocab = read_vocab(model, source);
  BpeOptions options;
  options.byte_fallback = model.value("byte_fallback", false);
  options.fuse_unk = model.value("fuse_unk", false);
  options.ignore_merges = model.value("ignore_merges", false);
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    const auto it = vocab.find(model["unk_token"].get<std::string>());
    if (it == vocab.end())
      throw InputError(fmt::format("{}: model.unk_token \"{}\" is not in the vocabulary", source, model["unk_token"].get<std::string>()));
    options.unk_id = it->second;
    *unk_id = it->second;
  }
  auto merges = read_merges(model, source);
  return BpeModel(std::move(vocab), merges, options, source);
}

// tokenizer_config.json's bos_token / eos_token: a string, {"content": ...}, or null.
std::string special_name(const json& config, const char* key) {
  if (!config.contains(key)) return "";
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return "";
}

// What tokenizer(text) adds around the text, from the post-processor: TemplateProcessing's "single"
// template (alone or in a Sequence), Roberta/Bert's cls + sep, nothing for ByteLevel.
void read_post_processor(const json& node, const std::string& source, const std::string& key, LoadedTokenizer* t) {
  if (node.is_null()) return;
  const std::string type = node.value("type", std::string());
  if (type == "Sequence") {
    const json& list = node.value("processors", json::array());
    for (size_t i = 0; i < list.size(); ++i) read_post_processor(list[i], source, fmt::format("{}.processors[{}]", key, i), t);
    return;
  }
  if (type == "ByteLevel") return;
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    t->prefix_ids = {node.at("cls").at(1).get<int32_t>()};
    t->suffix_ids = {node.at("sep").at(1).get<int32_t>()};
    return;
  }
  if (type != "TemplateProcessing")
    throw InputError(fmt::format("{}: {} of type \"{}\" is not supported", source, key, type));
  const json& specials = node.value("special_tokens", json::object());
  bool seen_sequence = false;
  for (const json& item : node.value("single", json::array())) {
    if (item.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    const std::string name = item.contains("SpecialToken") ? item["SpecialToken"].value("id", std::string()) : "";
    if (!specials.contains(name) || !specials[name].contains("ids"))
      throw InputError(fmt::format("{}: {}.single names special token \"{}\", which special_tokens does not define", source, key, name));
    auto& target = seen_sequence ? t->suffix_ids : t->prefix_ids;
    for (const json& id : specials[name]["ids"]) target.push_back(id.get<int32_t>());
  }
}

int32_t id_of(const std::string& name, const BpeModel& model, const std::vector<AddedToken>& added) {
  if (name.empty()) return -1;
  for (const auto& a : added)
    if (a.content == name) return a.id;
  return model.id(name).value_or(-1);
}

// transformers' LlamaTokenizerFast (and Gemma's, CodeLlama's) rebuild the template from
// add_bos_token / add_eos_token when tokenizer_config.json sets them; other classes keep the file's.
void apply_tokenizer_config(const json& config, const LoadedTokenizer& base, LoadedTokenizer* t) {
  const std::string cls = config.value("tokenizer_class", std::string());
  const bool llama_like = cls.rfind("LlamaTokenizer", 0) == 0 || cls.rfind("CodeLlamaTokenizer", 0) == 0 ||
                          cls.rfind("GemmaTokenizer", 0) == 0;
  if (!llama_like) return;
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean())
    t->prefix_ids = config["add_bos_token"].get<bool>() && base.bos_id >= 0 ? std::vector<int32_t>{base.bos_id} : std::vector<int32_t>{};
  if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean())
    t->suffix_ids = config["add_eos_token"].get<bool>() && base.eos_id >= 0 ? std::vector<int32_t>{base.eos_id} : std::vector<int32_t>{};
}

LoadedTokenizer read_hf_tokenizer_json(const std::string& json_path, const std::string& config_path) {
  io::require_file(json_path, "tokenizer.json");
  const json j = io::read_json_file(json_path);
  if (!j.is_object()) throw InputError(fmt::format("{}: expected a JSON object (a Hugging Face tokenizer.json)", json_path));
  const json config = config_path.empty() ? json::object() : io::read_json_file(config_path);
  LoadedTokenizer t;
  BpeModel model = read_model(j, json_path, &t.unk_id);
  HfPipeline pipeline = build_hf_pipeline(j, json_path);
  std::vector<AddedToken> added = read_added_tokens(j, json_path);

  // split_special_tokens (tokenizer_config.json): special-token strings in text are plain text.
  t.matches_special_strings = !config.value("split_special_tokens", false);
  std::vector<AddedToken> raw, normalized;
  for (const auto& a : added) {
    if (a.special && !t.matches_special_strings) continue;
    (a.normalized ? normalized : raw).push_back(a);
  }

  int32_t max_id = model.max_id();
  for (const auto& a : added) max_id = std::max(max_id, a.id);
  std::vector<std::optional<std::string>> id_to_token(static_cast<size_t>(max_id) + 1);
  for (const auto& [token, id] : model.vocab()) id_to_token[id] = token;
  for (const auto& a : added) id_to_token[a.id] = a.content;

  t.kind = pipeline.byte_level ? "tokenizer.json (byte-level BPE)" : "tokenizer.json (SentencePiece-style BPE)";
  t.vocab_size = max_id + 1;
  t.bos_id = id_of(special_name(config, "bos_token"), model, added);
  t.eos_id = id_of(special_name(config, "eos_token"), model, added);
  read_post_processor(j.value("post_processor", json()), json_path, "post_processor", &t);
  apply_tokenizer_config(config, t, &t);
  if (t.bos_id < 0 && !t.prefix_ids.empty()) t.bos_id = t.prefix_ids.front();

  t.files = {json_path};
  std::string identity = "tokenizer.json:" + io::sha256_file(json_path);
  if (!config_path.empty()) {
    t.files.push_back(config_path);
    identity += ";tokenizer_config.json:" + io::sha256_file(config_path);
  }
  t.sha256 = io::sha256_hex(identity);
  for (const int32_t id : t.prefix_ids)
    if (id < 0 || id > max_id) throw InputError(fmt::format("{}: post_processor adds id {}, outside the vocabulary of {}", json_path, id, max_id + 1));
  for (const int32_t id : t.suffix_ids)
    if (id < 0 || id > max_id) throw InputError(fmt::format("{}: post_processor adds id {}, outside the vocabulary of {}", json_path, id, max_id + 1));
  t.backend = std::make_shared<HfJsonTokenizer>(std::move(pipeline), std::move(model), AddedTokenMatcher(std::move(raw)),
                                                AddedTokenMatcher(std::move(normalized)), std::move(id_to_token));
  return t;
}

}  // namespace

LoadedTokenizer load_hf_tokenizer_json(const std::string& json_path, const std::string& config_path) {
  // The readers above check the keys they know; a value of an unexpected JSON type deeper down (found by
  // tests/fuzz/fuzz_hf_tokenizer: {"type": 0} in a decoder) is still the file's fault, not an internal error.
  try {
    return read_hf_tokenizer_json(json_path, config_path);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}{}: a value has an unexpected JSON type or shape ({})", json_path,
                                 config_path.empty() ? "" : " or " + config_path, e.what()));
  }
}

}  // namespace ptq::tok
