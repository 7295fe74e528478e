# ptqbench_core (libptqbench_core.so): every layer library's objects in one shared library. The
# `ptqbench` binary links it, and so do runtime plugins (harness/pipeline/plugin.h): a plugin's methods
# register into the one registry the binary reads, and use the engine the binary runs, not copies.
# The layer libraries stay static for the tests, which link exactly the layers they need.
set(PTQ_CORE_LAYERS ptqbench_util ptqbench_io ptqbench_model ptqbench_data ptqbench_quant ptqbench_ptq ptqbench_recon
    ptqbench_methods ptqbench_evaluators ptqbench_pipeline ptqbench_experiment ptqbench_tiny)
set(PTQ_CORE_OBJECTS)
foreach(layer IN LISTS PTQ_CORE_LAYERS)
  list(APPEND PTQ_CORE_OBJECTS $<TARGET_OBJECTS:${layer}>)
endforeach()
add_library(ptqbench_core SHARED ${PTQ_CORE_OBJECTS})
add_library(ptqbench::core ALIAS ptqbench_core)
set_target_properties(ptqbench_core PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  EXPORT_NAME core LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib LINKER_LANGUAGE CXX)
# The static layers, linked privately, bring their third-party libraries (and are searched for nothing
# else: every object is already in). What a plugin's compiler needs is public: LibTorch and its flags,
# nlohmann_json, fmt, the include root, the version its ABI tag names.
target_link_libraries(ptqbench_core PRIVATE ptqbench_experiment ptqbench_tiny
                      PUBLIC ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json fmt::fmt-header-only)
target_compile_options(ptqbench_core INTERFACE ${TORCH_CXX_FLAGS})
target_compile_features(ptqbench_core INTERFACE cxx_std_17)
target_include_directories(ptqbench_core INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
                                                   $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/ptqbench>)
target_compile_definitions(ptqbench_core INTERFACE PTQBENCH_VERSION="${PROJECT_VERSION}")
if(PTQ_WITH_CUDA)
  target_compile_definitions(ptqbench_core INTERFACE PTQ_WITH_CUDA)
endif()
# LibTorch's BLAS calls bind to the core's sgemm_ (util/tiled_gemm.h) ahead of the system BLAS: the
# core comes first among the binary's libraries and exports it like every other symbol.
