// AtomicFileWriter's environment cases (issue #29): a full disk and a file size limit are one-line
// EnvironmentErrors naming the file with the temp file gone and the old content intact; a target that is
// not a regular file (/dev/null, /dev/full, a FIFO, a symbolic link) is written in place, never renamed over.
#include "harness/io/files.h"
#include "harness/util/errors.h"
#include "tests/support/test_env.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::Message;
using ptq::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool is_char_device(const char* path) {
  struct stat st {};
  return ::lstat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

}  // namespace

TEST_CASE("a full disk is an EnvironmentError naming the file (/dev/full)", "[unit][files]") {
  REQUIRE(is_char_device("/dev/full"));
  // /dev/full accepts the open and fails every write with ENOSPC, as a full filesystem does.
  CHECK_THROWS_MATCHES(ptq::io::write_file_atomic("/dev/full", "some bytes"), ptq::EnvironmentError,
                       Message("disk full writing /dev/full (No space left on device)"));
  CHECK(is_char_device("/dev/full"));  // written in place, not renamed over
}

TEST_CASE("/dev/null and a symbolic link are written in place, never replaced", "[unit][files]") {
  const auto dev_before = listing("/dev");
  ptq::io::write_file_atomic("/dev/null", "discarded\n");
  CHECK(is_char_device("/dev/null"));
  CHECK(listing("/dev") == dev_before);  // no /dev/null.tmp.<pid> left behind

  TempDir dir;
  ptq::test::write_text(dir.file("real.md"), "old content, longer than the new one\n");
  fs::create_symlink(dir.file("real.md"), dir.file("link.md"));
  ptq::io::write_file_atomic(dir.file("link.md"), "new\n");
  CHECK(fs::is_symlink(dir.file("link.md")));
  CHECK(ptq::test::read_text(dir.file("real.md")) == "new\n");  // truncated, then written
  CHECK(listing(dir.path()) == std::vector<std::string>{"link.md", "real.md"});

  fs::create_directory(dir.file("sub"));
  CHECK_THROWS_MATCHES(ptq::io::write_file_atomic(dir.file("sub"), "x"), ptq::InputError,
                       Message(dir.file("sub") + " is a directory, expected a file to write"));
}

TEST_CASE("a FIFO is written in place for its reader", "[unit][files]") {
  TempDir dir;
  const std::string fifo = dir.file("out.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string received;
  std::thread reader([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY);
    char buf[256];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) received.append(buf, static_cast<size_t>(n));
    ::close(fd);
  });
  const std::string text(100000, 'x');  // more than a pipe holds: the writer must wait for the reader
  ptq::io::write_file_atomic(fifo, text);
  reader.join();
  CHECK(received == text);
  struct stat st {};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  CHECK(listing(dir.path()) == std::vector<std::string>{"out.fifo"});
}

TEST_CASE("a file size limit mid-write leaves the old file and no temp file", "[unit][files]") {
  TempDir dir;
  const std::string path = dir.file("result.json");
  ptq::test::write_text(path, "{\"old\": true}\n");
  // RLIMIT_FSIZE makes write() fail with EFBIG (SIGXFSZ ignored, as ptqbench's main does): the same path
  // through AtomicFileWriter as ENOSPC on a real filesystem, but on a regular file beside its temp file.
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string error;
  try {
    ptq::io::write_file_atomic(path, std::string(10000, 'y'));
  } catch (const ptq::EnvironmentError& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  CHECK(error == "file too large writing " + path + " (File too large; a file size limit, ulimit -f?)");
  CHECK(ptq::test::read_text(path) == "{\"old\": true}\n");
  CHECK(listing(dir.path()) == std::vector<std::string>{"result.json"});
}

TEST_CASE("write errors are classified by errno", "[unit][files]") {
  CHECK_THROWS_MATCHES(ptq::io::throw_write_error("results/x", ENOSPC), ptq::EnvironmentError,
                       Message("disk full writing results/x (No space left on device)"));
  CHECK_THROWS_MATCHES(ptq::io::throw_write_error("results/x", EDQUOT), ptq::EnvironmentError,
                       Message("disk full writing results/x (Disk quota exceeded)"));
  CHECK_THROWS_MATCHES(ptq::io::throw_write_error("results/x", EROFS), ptq::EnvironmentError,
                       Message("cannot write results/x: read-only (Read-only file system)"));
  CHECK_THROWS_MATCHES(ptq::io::throw_write_error("results/x", EACCES), ptq::EnvironmentError,
                       Message("cannot write results/x: read-only (Permission denied)"));
  // Anything else is not the environment's: an internal error (exit 1).
  CHECK_THROWS_MATCHES(ptq::io::throw_write_error("results/x", EBADF), std::runtime_error,
                       Message("cannot write results/x: Bad file descriptor"));
  CHECK_FALSE(ptq::io::is_environment_errno(EBADF));
}
