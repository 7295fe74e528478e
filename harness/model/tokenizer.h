// A sentencepiece tokenizer (tokenizer.model of LLaMA-1/2-style checkpoints) with the semantics of
// transformers' slow LlamaTokenizer as GPTQ/OmniQuant use it: encode(text) = [bos] + sp.encode(text),
// no EOS. sentencepiece itself lives behind the dlopen'ed shim (harness/model/spm_shim).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct ptq_spm;

namespace ptq {

class Tokenizer {
 public:
  // Throws InputError when the file is missing or is not a sentencepiece model.
  static Tokenizer load(const std::string& model_path);
  // Trains a model with sentencepiece's trainer in a separate process (flags as for spm_train:
  // "--input=...", "--model_prefix=...", ...), run in `workdir` when given (the trainer stores its input
  // and output paths in the model file: relative paths keep the file identical wherever it is made).
  // InputError with the trainer's last log line on failure.
  static void train(const std::vector<std::string>& trainer_flags, const std::string& workdir = "");

  std::vector<int32_t> encode(std::string_view text) const;           // sp.encode, no specials
  std::vector<int32_t> encode_with_bos(std::string_view text) const;  // HF slow tokenizer(text)
  std::string decode(const std::vector<int32_t>& ids) const;
  std::string piece(int32_t id) const;

  int vocab_size() const { return vocab_size_; }
  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  int unk_id() const { return unk_id_; }
  const std::string& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }  // of the model file: part of every cache key

 private:
  std::shared_ptr<ptq_spm> handle_;
  std::string path_, sha256_;
  int vocab_size_ = 0, bos_id_ = -1, eos_id_ = -1, unk_id_ = -1;
};

// Where the shim library was found (for `ptqbench info` and error messages).
std::string spm_shim_path();

}  // namespace ptq
