#include "harness/cli/model_dir.h"

#include "harness/model/tokenizer.h"

#include "harness/io/files.h"
#include "harness/model/checkpoint.h"
#include "harness/io/sha256.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::cli {

ModelDir inspect_model_dir(const std::string& dir, const std::string& tokenizer_override) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(fmt::format("model directory not found: {}", dir));
  ModelDir m;
  m.dir = dir;
  m.config_path = (fs::path(dir) / "config.json").string();
  io::require_file(m.config_path, "model config");
  m.config = LlamaConfig::from_file(m.config_path);
  m.config_sha256 = io::sha256_file(m.config_path);
  if (!tokenizer_override.empty()) {
    if (!fs::is_directory(tokenizer_override, ec)) io::require_file(tokenizer_override, "tokenizer file");
    m.tokenizer_path = tokenizer_override;
  } else {
    m.tokenizer_path = Tokenizer::find_in(dir);
  }
  return m;
}

Tokenizer load_model_tokenizer(const ModelDir& m) {
  Tokenizer t = Tokenizer::load(m.tokenizer_path.value());
  check_tokenizer_fits(t, m.config, m.config_path);
  return t;
}

}  // namespace ptq::cli
