#include "harness/run/fingerprint.h"

#include "harness/io/sha256.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

namespace fs = std::filesystem;

namespace ptq::run {

namespace {

constexpr uint64_t kWholeFileLimit = 2ull << 30;
constexpr uint64_t kChunk = 1ull << 20, kStride = 64ull << 20;

// The bytes that stand for one file in the fingerprint.
std::string file_digest_input(const fs::path& p, uint64_t size, bool* sampled) {
  if (size <= kWholeFileLimit) return io::sha256_file(p.string());
  *sampled = true;
  std::ifstream in(p, std::ios::binary);
  if (!in) throw InputError(fmt::format("cannot read {}", p.string()));
  std::string acc, buf(kChunk, '\0');
  for (uint64_t off = 0; off < size; off += kStride) {
    in.seekg(static_cast<std::streamoff>(off));
    in.read(buf.data(), static_cast<std::streamsize>(std::min<uint64_t>(kChunk, size - off)));
    acc += io::sha256_hex(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
  }
  return io::sha256_hex(acc);
}

}  // namespace

nlohmann::json model_fingerprint(const std::string& model_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file()) continue;
    if (name == "config.json" || name == "tokenizer.model" || name == "tokenizer.json" || name == "tokenizer_config.json" ||
        (name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0))
      files.push_back(entry.path());
  }
  if (ec) throw InputError(fmt::format("cannot list model directory {}: {}", model_dir, ec.message()));
  // Llama-3's tiktoken file, when the directory has no other tokenizer (Tokenizer::find_in reads it then).
  if (fs::is_regular_file(fs::path(model_dir) / "original" / "tokenizer.model", ec))
    files.push_back(fs::path(model_dir) / "original" / "tokenizer.model");
  std::sort(files.begin(), files.end());
  std::string acc;
  uint64_t total = 0;
  bool sampled = false;
  for (const auto& f : files) {
    const uint64_t size = fs::file_size(f);
    total += size;
    const bool nested = f.parent_path() == fs::path(model_dir) / "original";
    const std::string name = (nested ? "original/" : "") + f.filename().string();
    acc += fmt::format("{}\n{}\n{}\n", name, size, file_digest_input(f, size, &sampled));
  }
  return {{"sha256", io::sha256_hex(acc)}, {"files", files.size()}, {"bytes", total}, {"sampled", sampled}};
}

}  // namespace ptq::run
