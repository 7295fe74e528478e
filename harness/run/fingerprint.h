// Content fingerprints that go into run ids: a cell's id changes when its model, tokenizer or data
// change, not when they move to another directory.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace ptq::run {

// sha256 over config.json, the tokenizer files (tokenizer.model, tokenizer.json, tokenizer_config.json,
// original/tokenizer.model; when present) and every *.safetensors file: each file's
// name, size and contents. Files up to 2 GiB are hashed whole; larger ones (7B+ shards) by their
// header plus one 1 MiB chunk every 64 MiB, so that planning a 70B matrix takes seconds, not minutes.
// Returns {"sha256": hex, "files": n, "bytes": total, "sampled": bool}.
nlohmann::json model_fingerprint(const std::string& model_dir);

}  // namespace ptq::run
