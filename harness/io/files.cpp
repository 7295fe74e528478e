#include "harness/io/files.h"

#include "harness/util/errors.h"
#include "harness/util/text.h"

#include <fmt/format.h>
#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace ptq::io {

namespace {

std::string read_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw InputError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  gzbuffer(f, 1 << 20);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      throw InputError(fmt::format("{}: corrupt gzip data ({}), expected a valid .gz file", path, msg));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  // gzread stops silently at a truncated member; gzclose reports it as Z_BUF_ERROR.
  const int rc = gzclose(f);
  if (rc != Z_OK)
    throw InputError(fmt::format("{}: truncated or corrupt gzip file, expected a complete .gz file", path));
  return out;
}

}  // namespace

std::string gzip_compress(std::string_view bytes) {
  if (bytes.size() > (1u << 31)) throw std::runtime_error("gzip_compress: input over 2 GiB");
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper; deflateInit2 writes a header without name and with mtime 0.
  if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const size_t written = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error(fmt::format("zlib: deflate failed ({})", rc));
  out.resize(written);
  return out;
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

void require_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(fmt::format("{} not found: {}", what, path));
  if (!fs::is_regular_file(path, ec))
    throw InputError(fmt::format("{} is not a regular file: {}", what, path));
}

std::string read_file(const std::string& path) {
  require_file(path, "file");
  if (ends_with(path, ".gz")) return read_gzip(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

bool is_environment_errno(int err) {
  return err == ENOSPC || err == EDQUOT || err == EFBIG || err == EROFS || err == EACCES || err == EPERM;
}

void throw_write_error(const std::string& path, int err) {
  const char* why = std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) throw EnvironmentError(fmt::format("disk full writing {} ({})", path, why));
  if (err == EFBIG)
    throw EnvironmentError(fmt::format("file too large writing {} ({}; a file size limit, ulimit -f?)", path, why));
  if (err == EROFS || err == EACCES || err == EPERM)
    throw EnvironmentError(fmt::format("cannot write {}: read-only ({})", path, why));
  throw std::runtime_error(fmt::format("cannot write {}: {}", path, why));
}

namespace {

// A target that exists and is not a plain file: a device, a FIFO, a socket, or a symbolic link (lstat),
// e.g. /dev/stdout -> /proc/self/fd/1. These are opened and written as they are.
bool write_in_place(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;
  if (S_ISLNK(st.st_mode)) {
    struct stat target {};
    if (::stat(path.c_str(), &target) == 0 && S_ISDIR(target.st_mode))
      throw InputError(fmt::format("{} is a directory, expected a file to write", path));
    return true;
  }
  if (S_ISDIR(st.st_mode)) throw InputError(fmt::format("{} is a directory, expected a file to write", path));
  return !S_ISREG(st.st_mode);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path, bool fsync) : path_(path), fsync_(fsync) {
  if (write_in_place(path)) {
    // O_TRUNC: a symbolic link to a regular file gets the new content only; devices and FIFOs ignore it.
    fd_ = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd_ < 0) throw_write_error(path, errno);
    return;
  }
  const fs::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw_write_error(target.parent_path().string(), ec.value());
  }
  tmp_ = fmt::format("{}.tmp.{}", path, ::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_write_error(path, errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }
}

void AtomicFileWriter::write(const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t k = ::write(fd_, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      throw_write_error(path_, errno);  // the destructor removes the temp file
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
}

void AtomicFileWriter::commit() {
  const int fd = fd_;
  fd_ = -1;
  if (tmp_.empty()) {  // in place: nothing to rename; fsync of a device or FIFO fails with EINVAL
    if (::close(fd) != 0) throw_write_error(path_, errno);
    return;
  }
  // A full disk often shows only here (delayed allocation, network filesystems).
  int e = fsync_ && ::fsync(fd) != 0 ? errno : 0;
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e != 0) {
    ::unlink(tmp_.c_str());
    throw_write_error(path_, e);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp_.c_str());
    if (is_environment_errno(e)) throw_write_error(path_, e);
    throw std::runtime_error(fmt::format("cannot rename {} to {}: {}", tmp_, path_, std::strerror(e)));
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFileWriter out(path);
  out.write(bytes.data(), bytes.size());
  out.commit();
}

void write_directory_atomic(const std::string& dir, bool overwrite, const std::string& option,
                            const std::function<void(const std::string& tmp_dir)>& fill) {
  const fs::path out(dir);
  std::error_code ec;
  if (fs::exists(out, ec) && !overwrite)
    throw InputError(fmt::format("output directory {} already exists (choose another {} or pass --overwrite)", dir, option));
  const fs::path tmp = out.string() + fmt::format(".partial-{}", ::getpid());
  fs::remove_all(tmp, ec);
  try {
    fs::create_directories(tmp);
    fill(tmp.string());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(out, ec)) {
    const fs::path old = out.string() + fmt::format(".old-{}", ::getpid());
    fs::rename(out, old);
    fs::rename(tmp, out);
    fs::remove_all(old, ec);
  } else {
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    fs::rename(tmp, out);
  }
}

}  // namespace ptq::io
