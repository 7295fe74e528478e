#include "evaluators/sample_log.h"

#include "harness/io/files.h"
#include "harness/io/jsonl.h"
#include "harness/io/sha256.h"
#include "harness/util/errors.h"

#include <fmt/format.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace ptq::eval {

namespace {

std::string joined_lines(const std::vector<nlohmann::json>& records) {
  std::string text;
  for (const auto& r : records) text += r.dump() + "\n";
  return text;
}

}  // namespace

nlohmann::json write_sample_log(const std::string& dir, const std::string& task, const std::vector<nlohmann::json>& records) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create {}: {}", dir, ec.message()));
  const std::string text = joined_lines(records);
  const std::string file = task + ".jsonl.gz";
  io::write_file_atomic((fs::path(dir) / file).string(), io::gzip_compress(text));
  return {{"file", file}, {"sha256", io::sha256_hex(text)}, {"records", records.size()}};
}

std::vector<nlohmann::json> read_sample_log(const std::string& path, const std::string& expected_sha256) {
  const std::string text = io::read_file(path);
  const std::string sha = io::sha256_hex(text);
  if (sha != expected_sha256)
    throw InputError(fmt::format("{}: SHA-256 {} does not match the {} its result records (a log from another run?)",
                                 path, sha, expected_sha256));
  std::vector<nlohmann::json> records;
  io::for_each_json_line_in(text, path, [&](size_t, const nlohmann::json& record) {
    records.push_back(record);
    return true;
  });
  return records;
}

}  // namespace ptq::eval
