// The tokenizer of a model directory, whatever format it ships (model/tokenizers/):
//   - tokenizer.model, sentencepiece (LLaMA-1/2): transformers' slow LlamaTokenizer, as GPTQ and
//     OmniQuant used it: tokenizer(text) = [bos] + sp.encode(text);
//   - tokenizer.json (+ tokenizer_config.json): Hugging Face fast tokenizers, byte-level BPE (Llama-3,
//     Qwen2/2.5/3) or SentencePiece-style BPE (Llama-2 / Mistral fast files);
//   - tokenizer.model in tiktoken format (Llama-3's original/ file).
// encode_input(text) is what Hugging Face's tokenizer(text) returns: the text's ids with what the
// tokenizer adds around them (BOS for Llama and Mistral; nothing for Qwen).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptq {

namespace tok {
class TokenizerBackend;
struct LoadedTokenizer;
}  // namespace tok

class Tokenizer {
 public:
  // A tokenizer file (format detected from its name and content) or a model directory (see find_in).
  // InputError naming the file when it is missing or malformed.
  static Tokenizer load(const std::string& path);
  // The tokenizer file of a model directory: a sentencepiece tokenizer.model (the slow tokenizer the
  // LLaMA-1/2 papers used), else tokenizer.json, else a tiktoken tokenizer.model, else
  // original/tokenizer.model. nullopt when there is none.
  static std::optional<std::string> find_in(const std::string& model_dir);
  // Every tokenizer file of a model directory (tokenizer.model, tokenizer.json, tokenizer_config.json,
  // special_tokens_map.json, original/tokenizer.model), relative to it: what a quantized copy carries.
  static std::vector<std::string> files_in(const std::string& model_dir);
  // Trains a sentencepiece model in a separate process (flags as for spm_train: "--input=...", ...),
  // run in `workdir` when given. InputError with the trainer's last log line on failure.
  static void train(const std::vector<std::string>& trainer_flags, const std::string& workdir = "");

  std::vector<int32_t> encode(std::string_view text) const;        // nothing added around the text
  std::vector<int32_t> encode_input(std::string_view text) const;  // HF tokenizer(text)
  std::string decode(const std::vector<int32_t>& ids) const;
  std::string piece(int32_t id) const;

  int vocab_size() const;
  int bos_id() const;  // -1 when the tokenizer has none (Qwen)
  int eos_id() const;
  int unk_id() const;
  bool adds_bos() const;  // encode_input puts BOS first
  // What encode_input adds, for results' provenance: e.g. "bos" or "none" or "bos+eos".
  std::string added_tokens_description() const;
  bool matches_special_strings() const;  // "<s>" in text becomes the special id
  const std::string& kind() const;       // "sentencepiece", "tokenizer.json (byte-level BPE)", ...
  const std::string& path() const;       // the main file read
  const std::vector<std::string>& files() const;  // every file read (tokenizer.json + tokenizer_config.json, ...)
  const std::string& sha256() const;     // identity of every file read: part of every cache key

 private:
  std::shared_ptr<const tok::LoadedTokenizer> t_;
};

// Where the sentencepiece shim library was found (for `ptqbench info` and error messages).
std::string spm_shim_path();

}  // namespace ptq
