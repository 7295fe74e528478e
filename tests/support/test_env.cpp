#include "tests/support/test_env.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace fs = std::filesystem;

namespace ptq::test {

TempDir::TempDir() {
  std::random_device rd;
  for (;;) {
    const fs::path p = fs::temp_directory_path() / fmt::format("ptqbench-test-{:016x}", (uint64_t{rd()} << 32) | rd());
    if (fs::create_directory(p)) {
      path_ = p.string();
      return;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string source_dir() { return PTQ_SOURCE_DIR; }

std::string test_data_dir() {
  if (const char* env = std::getenv("PTQ_TEST_DATA")) return env;
  return (fs::path(PTQ_SOURCE_DIR) / ".." / "shared" / "data").lexically_normal().string();
}

std::string tiny_model() { return source_dir() + "/experiments/models/tiny-llama"; }
std::string tiny_data() { return source_dir() + "/experiments/data/tiny"; }

void skip_test(const std::string& why) {
  fmt::print("SKIPPED: {}\n", why);
  std::fflush(stdout);
  std::_Exit(77);
}

std::string require_test_data(const std::string& relative) {
  const fs::path p = fs::path(test_data_dir()) / relative;
  if (!fs::exists(p)) skip_test(fmt::format("test data {} not found (set PTQ_TEST_DATA)", p.string()));
  return p.string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace ptq::test
