# Fails when a file includes a file of a higher layer (DESIGN.md §2, ARCHITECTURE.md), when an include
# is not a path from the repository root (the one include root), or when a file sits in no layer.
#   cmake -DSOURCE_DIR=<repository root> [-DKNOWN=<file>] -P check_layers.cmake
# KNOWN lists upward includes that are still allowed, one "from -> to" per line (# comments); an entry
# that no longer occurs fails too, so the list can only shrink.
cmake_minimum_required(VERSION 3.22)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repository root> [-DKNOWN=<file>] -P check_layers.cmake")
endif()

# rank:group:folder. A file may include files of a lower rank or of its own group; files of the same
# rank in different groups (methods and evaluators) are peers that must not include each other.
set(PTQ_LAYERS
  0:util:harness/util 0:util:harness/pch.h
  1:io:harness/io
  2:model:harness/model
  3:data:harness/data
  4:quant:harness/quant
  5:ptq:harness/ptq
  6:recon:harness/recon
  7:methods:methods 7:evaluators:evaluators
  8:pipeline:harness/pipeline
  9:experiment:harness/run 9:experiment:harness/store 9:experiment:harness/report 9:tiny:harness/tiny
  10:cli:harness/cli)

# Sets <out_rank>/<out_group> for a repository-relative path ("" when it is in no layer).
function(layer_of path out_rank out_group)
  set(${out_rank} "" PARENT_SCOPE)
  set(${out_group} "" PARENT_SCOPE)
  foreach(entry IN LISTS PTQ_LAYERS)
    string(REPLACE ":" ";" parts "${entry}")
    list(GET parts 0 rank)
    list(GET parts 1 group)
    list(GET parts 2 folder)
    if(path STREQUAL folder OR path MATCHES "^${folder}/")
      set(${out_rank} ${rank} PARENT_SCOPE)
      set(${out_group} ${group} PARENT_SCOPE)
      return()
    endif()
  endforeach()
endfunction()

set(known_left "")
if(KNOWN)
  file(STRINGS "${KNOWN}" known_lines REGEX "->")
  foreach(line IN LISTS known_lines)
    string(REGEX REPLACE "#.*" "" line "${line}")
    string(REGEX REPLACE "[ \t]+" "" line "${line}")
    if(line)
      list(APPEND known_left "${line}")
    endif()
  endforeach()
endif()

file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/harness/*.h" "${SOURCE_DIR}/harness/*.cpp"
     "${SOURCE_DIR}/harness/*.cu" "${SOURCE_DIR}/methods/*.h" "${SOURCE_DIR}/methods/*.cpp"
     "${SOURCE_DIR}/evaluators/*.h" "${SOURCE_DIR}/evaluators/*.cpp")
set(errors 0)
set(checked 0)
foreach(file IN LISTS sources)
  layer_of("${file}" from_rank from_group)
  if(from_rank STREQUAL "")
    message("no layer: ${file} (add its folder to PTQ_LAYERS in tests/layering/check_layers.cmake)")
    math(EXPR errors "${errors} + 1")
    continue()
  endif()
  file(STRINGS "${SOURCE_DIR}/${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]+\"")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" target "${line}")
    math(EXPR checked "${checked} + 1")
    if(NOT EXISTS "${SOURCE_DIR}/${target}")
      message("not from the repository root: ${file} includes \"${target}\"")
      math(EXPR errors "${errors} + 1")
      continue()
    endif()
    layer_of("${target}" to_rank to_group)
    if(to_rank STREQUAL "" OR to_group STREQUAL from_group OR to_rank LESS from_rank)
      continue()
    endif()
    if("${file}->${target}" IN_LIST known_left)
      list(REMOVE_ITEM known_left "${file}->${target}")
      continue()
    endif()
    message("upward include: ${file} -> ${target} (layer ${from_group} must not include ${to_group})")
    math(EXPR errors "${errors} + 1")
  endforeach()
endforeach()
foreach(stale IN LISTS known_left)
  message("no longer occurs, remove it from ${KNOWN}: ${stale}")
  math(EXPR errors "${errors} + 1")
endforeach()
list(LENGTH sources nfiles)
if(errors GREATER 0)
  message(FATAL_ERROR "${errors} layering error(s) in ${nfiles} files")
endif()
message("layering ok: ${nfiles} files, ${checked} includes")
