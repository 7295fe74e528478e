# Fails when a source the fuzz targets compile (tests/fuzz/fuzzed_sources.cmake) includes LibTorch, directly
# or through any harness header it includes: those targets are built with clang and no LibTorch (issue #29),
# so such an include would only show up when someone runs scripts/fuzz.
#   cmake -DSOURCE_DIR=<repository root> -P check_torch_free.cmake
cmake_minimum_required(VERSION 3.22)
include(${SOURCE_DIR}/tests/fuzz/fuzzed_sources.cmake)

set(errors 0)
set(seen "")
# Walks the quoted (repository-root) includes of `file` depth-first; `chain` is how it was reached.
function(check_file file chain)
  if(file IN_LIST seen)
    return()
  endif()
  list(APPEND seen ${file})
  set(seen ${seen} PARENT_SCOPE)
  if(NOT EXISTS ${SOURCE_DIR}/${file})
    return()  # a generated or system header named in quotes
  endif()
  file(STRINGS ${SOURCE_DIR}/${file} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS lines)
    if(line MATCHES "<(ATen|torch|c10|caffe2)/")
      message("LibTorch in a fuzzed source: ${chain} -> ${file}: ${line}")
      math(EXPR n "${errors} + 1")
      set(errors ${n} PARENT_SCOPE)
    elseif(line MATCHES "\"([^\"]+)\"")
      check_file(${CMAKE_MATCH_1} "${chain} -> ${file}")
      set(seen ${seen} PARENT_SCOPE)
      set(errors ${errors} PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

foreach(source IN LISTS PTQ_FUZZED_SOURCES)
  check_file(${source} "tests/fuzz")
endforeach()
list(LENGTH PTQ_FUZZED_SOURCES n_sources)
if(errors GREATER 0)
  message(FATAL_ERROR "${errors} LibTorch include(s) in the sources of the fuzz targets")
endif()
message("all ${n_sources} fuzzed sources are LibTorch-free")
