# Every third-party dependency, found once. Debian packages provide all of them (scripts/setup); a CUDA
# LibTorch 2.x is picked up instead of Debian's through -DCMAKE_PREFIX_PATH=<torch>/share/cmake.
find_package(Torch REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(ZLIB REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(SQLiteCpp REQUIRED)   # used by the results store

# sentencepiece is linked ONLY into the tokenizer shim (harness/model/spm_shim): Debian's libsentencepiece
# bundles protobuf 3.14 and LibTorch loads protobuf 3.21; one process must never link both (DESIGN.md §6.1).
find_path(SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h REQUIRED)
find_library(SENTENCEPIECE_LIBRARY sentencepiece REQUIRED)
find_library(SENTENCEPIECE_TRAIN_LIBRARY sentencepiece_train REQUIRED)

# The tokenizers' split patterns need Unicode properties and lookahead (PCRE2; RE2 lacks lookahead), and
# Qwen's tokenizer.json an NFC normalizer (utf8proc). Both from Debian (libpcre2-dev, libutf8proc-dev).
find_path(PCRE2_INCLUDE_DIR pcre2.h REQUIRED)
find_library(PCRE2_LIBRARY pcre2-8 REQUIRED)
find_path(UTF8PROC_INCLUDE_DIR utf8proc.h REQUIRED)
find_library(UTF8PROC_LIBRARY utf8proc REQUIRED)

# CUDA: only when the LibTorch we build against was itself built with CUDA. Hopper and Ampere by default
# (-DCMAKE_CUDA_ARCHITECTURES=... for others).
set(PTQ_WITH_CUDA OFF)
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 80 90)
endif()
if(PTQ_CUDA STREQUAL "ON" OR (PTQ_CUDA STREQUAL "AUTO" AND (TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)))
  enable_language(CUDA)
  set(PTQ_WITH_CUDA ON)
endif()
# Without a CUDA LibTorch, the kernels (plain CUDA C++, no LibTorch headers) are still compiled when nvcc
# is installed, so that CPU-only machines keep them building: the target ptq_cuda_kernels_check.
set(PTQ_CUDA_COMPILE_CHECK OFF)
if(NOT PTQ_WITH_CUDA AND NOT PTQ_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    set(PTQ_CUDA_COMPILE_CHECK ON)
  endif()
endif()
message(STATUS "ptqbench: LibTorch ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}, CUDA: ${PTQ_WITH_CUDA}, "
               "kernels compile-checked with nvcc: ${PTQ_CUDA_COMPILE_CHECK}")
