# Warnings for our own targets only (LibTorch's headers are included as system headers).
function(ptq_target_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>)
endfunction()
