// Shared helpers for the Catch2 tests: temporary directories, the real-data location, and skipping.
// A test that cannot run here (no PTQ_TEST_DATA, no GPU) exits with code 77, which CTest reports as
// "Skipped" (SKIP_RETURN_CODE) - Catch2 v2 has no SKIP of its own.
#pragma once

#include <string>

namespace ptq::test {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The project's source directory (for files committed with it, e.g. experiments/).
std::string source_dir();
// The embedded default model (experiments/models/tiny-llama) and its data (experiments/data/tiny).
std::string tiny_model();
std::string tiny_data();
// $PTQ_TEST_DATA, else <source>/../shared/data.
std::string test_data_dir();
// Returns <test data>/<relative>, or skips the test (exit 77) when it is absent.
std::string require_test_data(const std::string& relative);
[[noreturn]] void skip_test(const std::string& why);

void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

}  // namespace ptq::test
