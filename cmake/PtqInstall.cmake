# cmake --install: an install prefix that works without the build tree.
#   bin/ptqbench, bin/ptq_spm_train          the command line and its tokenizer-training helper
#   lib/libptqbench_core.so*                 the shared core (RPATH: the binary finds it in ../lib)
#   lib/libptq_spm_shim.so                   the sentencepiece shim, found next to the binary (DESIGN.md §6)
#   include/ptqbench/...                     the public headers (docs/plugins.md) and what they include
#   lib/cmake/ptqbench/                      find_package(ptqbench CONFIG): the target ptqbench::core
include(CMakePackageConfigHelpers)

install(TARGETS ptqbench ptq_spm_train RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ptq_spm_shim LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS ptqbench_core EXPORT ptqbenchTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development)

# The public API: what a method or evaluator plugin includes (docs/plugins.md lists the promise per
# header). The headers they include are installed with them, as implementation details; no other header
# of the tree is.
set(PTQ_PUBLIC_HEADERS
  harness/pipeline/plugin.h          # the entry point and the registrar
  harness/ptq/method.h               # the Method interface and MethodContext / MethodReport
  harness/ptq/quant_setting.h        # QuantSetting: bits, groups, symmetry, activations
  harness/ptq/config_schema.h        # typed configs: ConfigSchema, MethodWithConfig
  harness/recon/block_recon.h        # the engine: BlockParts, ClosedFormParts, reconstruct()
  harness/recon/linear_inputs.h      # the engine's per-linear inputs of a block
  harness/model/llama_model.h        # the model and its DecoderBlock
  harness/model/block_reader.h       # blocks one at a time (streamed models)
  harness/quant/uniform_quantizer.h  # fake_quant_weight and the quantizer specs
  harness/quant/act_quant.h          # activation quantization hooks
  harness/util/errors.h              # InputError: bad input, exit 2
  harness/util/strict_json.h         # strict readers of JSON objects
  evaluators/evaluator.h)            # the Evaluator interface and EvaluatorInfo
list(FILTER PTQ_PUBLIC_HEADERS EXCLUDE REGEX "^#")

# The closure of the public headers under the project's own includes ("harness/...", "evaluators/...",
# "methods/..."), scanned at configure time.
function(ptq_header_closure out)
  set(todo ${ARGN})
  set(seen)
  while(todo)
    list(POP_FRONT todo header)
    if(header IN_LIST seen)
      continue()
    endif()
    if(NOT EXISTS ${PROJECT_SOURCE_DIR}/${header})
      message(FATAL_ERROR "public header ${header} (cmake/PtqInstall.cmake) does not exist")
    endif()
    list(APPEND seen ${header})
    file(STRINGS ${PROJECT_SOURCE_DIR}/${header} includes REGEX "^#include \"")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" included "${line}")
      list(APPEND todo ${included})
    endforeach()
  endwhile()
  list(SORT seen)
  set(${out} ${seen} PARENT_SCOPE)
endfunction()
ptq_header_closure(PTQ_INSTALLED_HEADERS ${PTQ_PUBLIC_HEADERS})
foreach(header IN LISTS PTQ_INSTALLED_HEADERS)
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ptqbench/${dir} COMPONENT Development)
endforeach()

set(PTQ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ptqbench)
install(EXPORT ptqbenchTargets NAMESPACE ptqbench:: DESTINATION ${PTQ_CMAKE_DIR} COMPONENT Development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ptqbenchConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ptqbenchConfig.cmake INSTALL_DESTINATION ${PTQ_CMAKE_DIR})
# A plugin runs only in the ptqbench it was built against (its ABI tag names the version), so the
# package matches exact versions.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ptqbenchConfigVersion.cmake COMPATIBILITY ExactVersion)
install(FILES ${PROJECT_BINARY_DIR}/ptqbenchConfig.cmake ${PROJECT_BINARY_DIR}/ptqbenchConfigVersion.cmake
        DESTINATION ${PTQ_CMAKE_DIR} COMPONENT Development)
