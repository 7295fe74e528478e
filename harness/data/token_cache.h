// On-disk cache of tokenized evaluation/calibration streams. The key is the SHA-256 of a JSON object
// holding everything that determines the tokens: tokenizer hash, dataset file hash, protocol and its
// parameters, and a format version (OmniQuant keyed its cache by model family only, which silently
// reuses another tokenizer's ids). Entries are .npy files, written atomically.
#pragma once

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace ptq::eval {

class TokenCache {
 public:
  // An empty directory disables caching.
  explicit TokenCache(std::string dir = default_dir());
  static TokenCache disabled() { return TokenCache(""); }
  // $PTQ_CACHE_DIR, else $XDG_CACHE_HOME/ptqbench, else ~/.cache/ptqbench.
  static std::string default_dir();

  // Returns the cached ids for `key`, or computes, stores and returns them. *hit tells which.
  at::Tensor get_or_compute(const nlohmann::json& key, const std::function<at::Tensor()>& compute,
                            bool* hit = nullptr) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace ptq::eval
