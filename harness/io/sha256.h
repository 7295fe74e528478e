// SHA-256 of files and strings (lower-case hex), for provenance and cache keys.
#pragma once

#include <string>
#include <string_view>

namespace ptq::io {

std::string sha256_hex(std::string_view bytes);
// Streams the file (does not read it whole). Throws InputError if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace ptq::io
