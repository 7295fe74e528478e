#include "harness/data/token_cache.h"

#include "harness/io/files.h"
#include "harness/io/npy.h"
#include "harness/io/sha256.h"
#include "harness/util/errors.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::eval {

namespace {
constexpr int kCacheFormat = 1;  // bump when the tokenization code changes what it produces
}

TokenCache::TokenCache(std::string dir) : dir_(std::move(dir)) {}

std::string TokenCache::default_dir() {
  if (const char* d = std::getenv("PTQ_CACHE_DIR")) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME")) return (fs::path(x) / "ptqbench").string();
  if (const char* h = std::getenv("HOME")) return (fs::path(h) / ".cache" / "ptqbench").string();
  return "";
}

at::Tensor TokenCache::get_or_compute(const nlohmann::json& key, const std::function<at::Tensor()>& compute,
                                      bool* hit) const {
  if (hit) *hit = false;
  if (dir_.empty()) return compute();
  nlohmann::json full = key;
  full["cache_format"] = kCacheFormat;
  const std::string name = io::sha256_hex(full.dump());
  const std::string path = (fs::path(dir_) / "tokens" / (name + ".npy")).string();
  if (io::file_exists(path)) {
    try {
      at::Tensor ids = io::read_npy_ids(path);
      if (hit) *hit = true;
      return ids;
    } catch (const InputError&) {
      // A damaged entry (e.g. a disk filled up mid-copy) is recomputed, never trusted.
    }
  }
  at::Tensor ids = compute();
  try {
    io::write_npy_ids(path, ids);
    io::write_file_atomic((fs::path(dir_) / "tokens" / (name + ".json")).string(), full.dump(2) + "\n");
  } catch (const std::exception&) {
    // A read-only or full cache directory must not fail the evaluation itself.
  }
  return ids;
}

}  // namespace ptq::eval
