// Build identity, generated at build time (cmake/PtqBuildInfo.cmake writes build_info.cpp).
#pragma once

namespace ptq::build_info {
extern const char* const kVersion;  // project version from CMakeLists.txt
extern const char* const kGitSha;   // short SHA of HEAD, "+dirty" when the tree had changes, or "unknown"
}  // namespace ptq::build_info
