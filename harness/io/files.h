// Whole-file reads with clear errors, transparent gzip, and atomic writes (temp file + fsync + rename),
// so that an interrupted run never leaves a half-written result behind.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace ptq::io {

// Reads a file into memory; ".gz" files are decompressed. Throws InputError naming the path.
std::string read_file(const std::string& path);
// Writes a file atomically: data goes to "<path>.tmp.<pid>", commit() fsyncs and renames it over `path`.
// Readers see either the old file or the complete new one; an exception (or a destructor without
// commit) removes the temp file. `fsync` false: scratch files no later process reads (a streamed model's
// spilled blocks), where waiting for the disk buys nothing.
// A `path` that exists and is not a regular file (/dev/null, /dev/stdout and other symbolic links, a
// FIFO, a device) is written in place, never renamed over: renaming over /dev/null as root would replace
// the device node, over /dev/stdout the link. A directory is an InputError. Failures are classified by
// throw_write_error (disk full, read-only: EnvironmentError, exit 6).
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path, bool fsync = true);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  void write(const void* data, size_t n);
  void commit();

 private:
  std::string path_, tmp_;  // tmp_ empty: writing `path_` in place
  bool fsync_ = true;
  int fd_ = -1;
};

// What a failed write of `path` (errno `err`) means to the user, on one line:
//  ENOSPC, EDQUOT        EnvironmentError "disk full writing <path> (<strerror>)"
//  EFBIG                 EnvironmentError "file too large writing <path> (...; a file size limit, ulimit -f?)"
//  EROFS, EACCES, EPERM  EnvironmentError "cannot write <path>: read-only (<strerror>)"
//  anything else         std::runtime_error (an internal failure, exit 1)
[[noreturn]] void throw_write_error(const std::string& path, int err);
// True for the errno values throw_write_error reports as EnvironmentError.
bool is_environment_errno(int err);

void write_file_atomic(const std::string& path, std::string_view bytes);
// gzip (RFC 1952) of `bytes` with no file name and a zero timestamp: the same input gives the same
// bytes with the same zlib, so committed .gz files only change when their content does.
std::string gzip_compress(std::string_view bytes);
bool file_exists(const std::string& path);
// Throws InputError("<what> not found: <path>") unless path is an existing regular file.
void require_file(const std::string& path, std::string_view what);

// Creates the directory `dir` atomically as a whole: `fill` writes everything into a sibling temporary
// directory (removed when it throws), which is then renamed into place, so that a reader sees either no
// directory, the old one or the complete new one. An existing `dir` is an InputError unless `overwrite`
// (`option` names the flag that chose it, for the message).
void write_directory_atomic(const std::string& dir, bool overwrite, const std::string& option,
                            const std::function<void(const std::string& tmp_dir)>& fill);

}  // namespace ptq::io
