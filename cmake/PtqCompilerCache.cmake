# Use ccache when it is installed. Precompiled headers only hit the cache with these sloppiness settings
# (the PCH embeds time stamps and predefined macros that differ from build to build).
find_program(PTQ_CCACHE ccache)
if(PTQ_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime ${PTQ_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${PTQ_CCACHE})
endif()
