// Whole-file reads with clear errors, transparent gzip, and atomic writes (temp file + fsync + rename),
// so that an interrupted run never leaves a half-written result behind.
#pragma once

#include <string>
#include <string_view>

namespace ptq::io {

// Reads a file into memory; ".gz" files are decompressed. Throws InputError naming the path.
std::string read_file(const std::string& path);
// Writes a file atomically: data goes to "<path>.tmp.<pid>", commit() fsyncs and renames it over `path`.
// Readers see either the old file or the complete new one; an exception (or a destructor without
// commit) removes the temp file. `fsync` false: scratch files no later process reads (a streamed model's
// spilled blocks), where waiting for the disk buys nothing.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path, bool fsync = true);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void write(const void* data, size_t n);
  void commit();

 private:
  std::string path_, tmp_;
  bool fsync_ = true;
  int fd_ = -1;
};

void write_file_atomic(const std::string& path, std::string_view bytes);
// gzip (RFC 1952) of `bytes` with no file name and a zero timestamp: the same input gives the same
// bytes with the same zlib, so committed .gz files only change when their content does.
std::string gzip_compress(std::string_view bytes);
bool file_exists(const std::string& path);
// Throws InputError("<what> not found: <path>") unless path is an existing regular file.
void require_file(const std::string& path, std::string_view what);

}  // namespace ptq::io
