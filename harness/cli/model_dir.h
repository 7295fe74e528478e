// What the CLI needs to know about a model directory before loading any weight.
#pragma once

#include "harness/model/llama_config.h"

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

}  // namespace ptq::cli
