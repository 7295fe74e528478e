// What the CLI needs to know about a model directory before loading any weight.
#pragma once

#include "harness/model/llama_config.h"
#include "harness/model/tokenizer.h"

#include <optional>
#include <string>

namespace ptq::cli {

struct ModelDir {
  std::string dir;
  std::string config_path;
  LlamaConfig config;
  std::string config_sha256;
  // Explicit --tokenizer, else the directory's tokenizer file (Tokenizer::find_in) when it has one.
  std::optional<std::string> tokenizer_path;
};

// Throws InputError for a missing directory / config.json or an invalid config.
ModelDir inspect_model_dir(const std::string& dir, const std::string& tokenizer_override = "");

// The tokenizer at m.tokenizer_path (which must be set), checked against config.json: ids beyond
// vocab_size are an InputError naming the tokenizer file (check_tokenizer_fits).
Tokenizer load_model_tokenizer(const ModelDir& m);

}  // namespace ptq::cli
