#include "harness/model/tokenizer.h"

#include "harness/io/files.h"
#include "harness/model/tokenizers/backend.h"
#include "harness/model/tokenizers/hf_tokenizer_json.h"
#include "harness/model/tokenizers/sentencepiece_model.h"
#include "harness/model/tokenizers/tiktoken_llama3.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq {

namespace {

// tokenizer_config.json beside `file`, or one folder up (Llama-3's original/tokenizer.model).
std::string config_beside(const fs::path& file) {
  for (const fs::path& dir : {file.parent_path(), file.parent_path().parent_path()}) {
    const fs::path c = dir / "tokenizer_config.json";
    if (!dir.empty() && io::file_exists(c.string())) return c.string();
  }
  return "";
}

tok::LoadedTokenizer load_file(const std::string& path) {
  io::require_file(path, "tokenizer file");
  const fs::path p(path);
  if (p.extension() == ".json") {
    if (p.filename() == "tokenizer_config.json")
      throw InputError(fmt::format("{}: this is a tokenizer configuration; expected tokenizer.json (beside it) or "
                                   "tokenizer.model", path));
    const fs::path c = p.parent_path() / "tokenizer_config.json";
    return tok::load_hf_tokenizer_json(path, io::file_exists(c.string()) ? c.string() : "");
  }
  if (tok::looks_like_tiktoken(path)) return tok::load_tiktoken_llama3(path, config_beside(p));
  return tok::load_sentencepiece(path);
}

bool is_sentencepiece_file(const fs::path& p) { return io::file_exists(p.string()) && !tok::looks_like_tiktoken(p.string()); }

}  // namespace

std::optional<std::string> Tokenizer::find_in(const std::string& model_dir) {
  const fs::path dir(model_dir);
  if (is_sentencepiece_file(dir / "tokenizer.model")) return (dir / "tokenizer.model").string();
  if (io::file_exists((dir / "tokenizer.json").string())) return (dir / "tokenizer.json").string();
  for (const fs::path& p : {dir / "tokenizer.model", dir / "original" / "tokenizer.model"})
    if (io::file_exists(p.string())) return p.string();
  return std::nullopt;
}

std::vector<std::string> Tokenizer::files_in(const std::string& model_dir) {
  std::vector<std::string> out;
  for (const char* name : {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                           "original/tokenizer.model"})
    if (io::file_exists((fs::path(model_dir) / name).string())) out.emplace_back(name);
  return out;
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::error_code ec;
  std::string file = path;
  if (fs::is_directory(path, ec)) {
    const auto found = find_in(path);
    if (!found)
      throw InputError(fmt::format("{}: no tokenizer (expected tokenizer.model, tokenizer.json or original/tokenizer.model)", path));
    file = *found;
  }
  Tokenizer t;
  t.t_ = std::make_shared<const tok::LoadedTokenizer>(load_file(file));
  return t;
}

void Tokenizer::train(const std::vector<std::string>& trainer_flags, const std::string& workdir) {
  tok::train_sentencepiece(trainer_flags, workdir);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const { return t_->backend->encode(text); }

std::vector<int32_t> Tokenizer::encode_input(std::string_view text) const {
  std::vector<int32_t> ids = t_->prefix_ids;
  const auto body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), t_->suffix_ids.begin(), t_->suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const { return t_->backend->decode(ids); }
std::string Tokenizer::piece(int32_t id) const { return t_->backend->piece(id); }
int Tokenizer::vocab_size() const { return t_->vocab_size; }
int Tokenizer::bos_id() const { return t_->bos_id; }
int Tokenizer::eos_id() const { return t_->eos_id; }
int Tokenizer::unk_id() const { return t_->unk_id; }
bool Tokenizer::adds_bos() const { return !t_->prefix_ids.empty() && t_->prefix_ids.front() == t_->bos_id; }
bool Tokenizer::matches_special_strings() const { return t_->matches_special_strings; }
const std::string& Tokenizer::kind() const { return t_->kind; }
const std::string& Tokenizer::path() const { return t_->files.front(); }
const std::vector<std::string>& Tokenizer::files() const { return t_->files; }
const std::string& Tokenizer::sha256() const { return t_->sha256; }

std::string Tokenizer::added_tokens_description() const {
  std::string out;
  const auto name = [&](int32_t id) { return id == t_->bos_id ? std::string("bos") : id == t_->eos_id ? std::string("eos") : std::to_string(id); };
  for (int32_t id : t_->prefix_ids) out += (out.empty() ? "" : "+") + name(id);
  out += out.empty() ? "text" : "+text";
  for (int32_t id : t_->suffix_ids) out += "+" + name(id);
  return out;
}

std::string spm_shim_path() { return tok::spm_shim_path(); }

}  // namespace ptq
