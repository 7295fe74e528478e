// A read-only memory map of a whole file. Pages are loaded on first touch, so a 70B checkpoint is never
// resident as a whole; `release` hands pages back after a tensor has been copied out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ptq::io {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws InputError
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Advises the kernel that [offset, offset + n) will not be needed again (drops it from our RSS).
  void release(size_t offset, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ptq::io
