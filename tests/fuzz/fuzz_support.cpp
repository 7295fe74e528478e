#include "tests/fuzz/fuzz_support.h"

#include "harness/util/errors.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

namespace ptq::fuzz {

bool accepts(const std::function<void()>& read) {
  try {
    read();
    return true;
  } catch (const InputError&) {
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: not an InputError: %s\n", e.what());
    std::abort();
  }
}

namespace {

std::string scratch_dir() {
  static const std::string dir = [] {
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    std::string d = std::string(base) + "/ptq-fuzz-" + std::to_string(getpid());
    if (std::system(("mkdir -p '" + d + "'").c_str()) != 0) throw std::runtime_error("cannot create " + d);
    return d;
  }();
  return dir;
}

}  // namespace

std::string scratch_file(const std::string& name, std::string_view bytes) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

}  // namespace ptq::fuzz
