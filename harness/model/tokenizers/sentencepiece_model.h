// sentencepiece tokenizer.model files (LLaMA-1/2, Mistral's original files), through the dlopen'ed shim
// (model/spm_shim: Debian's sentencepiece bundles a protobuf LibTorch must never see, DESIGN.md §6.1).
#pragma once

#include "harness/model/tokenizers/backend.h"

#include <string>
#include <vector>

namespace ptq::tok {

// InputError when the file is missing or is not a sentencepiece model.
LoadedTokenizer load_sentencepiece(const std::string& model_path);
// Trains a model with sentencepiece's trainer in a separate process (flags as for spm_train), run in
// `workdir` when given. InputError with the trainer's last log line on failure.
void train_sentencepiece(const std::vector<std::string>& trainer_flags, const std::string& workdir);
// Where the shim library was found (for `ptqbench info` and error messages).
std::string spm_shim_path();

}  // namespace ptq::tok
