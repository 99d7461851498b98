# memmamba_warnings(target): the project's own code builds warning-free with these.
# Third-party headers (Qt, LibTorch) come in through imported targets, which CMake
# marks SYSTEM, so their warnings stay out of our builds.
function(memmamba_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wno-unused-parameter>)
    if(MEMMAMBA_WERROR)
      target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
    endif()
  endif()
endfunction()
