// What every fuzz target shares: the one rule they check (a reader either accepts the input or throws
// ptq::InputError; anything else is a crash for libFuzzer), and scratch files for readers that take paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ptq::fuzz {

// Runs `read`; returns true when it accepted the input, false when it threw InputError (bad input, as
// designed). Any other exception aborts with its message, so libFuzzer keeps the input as a crash:
// bad input must never be reported as an internal error (issue #29, case 5).
bool accepts(const std::function<void()>& read);

// Writes `bytes` to <scratch dir>/<name> (one directory per process, in /dev/shm when it exists) and
// returns the path, for readers that take file names.
std::string scratch_file(const std::string& name, std::string_view bytes);

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace ptq::fuzz
