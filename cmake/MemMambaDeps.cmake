# Finds zstd and sentencepiece as the imported targets PkgConfig::ZSTD and
# PkgConfig::SENTENCEPIECE: through pkg-config where it is installed (Debian), else by
# looking for the header and library directly (the GPU machine has no pkg-config files
# for them).
find_package(PkgConfig QUIET)

function(memmamba_find_library target pcname header libname)
  if(TARGET PkgConfig::${target})
    return()
  endif()
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(${target} QUIET IMPORTED_TARGET GLOBAL ${pcname})
    if(TARGET PkgConfig::${target})
      return()
    endif()
  endif()
  find_path(${target}_INCLUDE_DIR ${header})
  find_library(${target}_LIBRARY ${libname})
  if(NOT ${target}_INCLUDE_DIR OR NOT ${target}_LIBRARY)
    message(FATAL_ERROR "${pcname} not found (header ${header}, library ${libname}); "
                        "run installer/install-deps.sh")
  endif()
  add_library(PkgConfig::${target} INTERFACE IMPORTED GLOBAL)
  set_target_properties(PkgConfig::${target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${${target}_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${${target}_LIBRARY}")
  message(STATUS "Found ${pcname}: ${${target}_LIBRARY}")
endfunction()

memmamba_find_library(ZSTD libzstd zstd.h zstd)
memmamba_find_library(SENTENCEPIECE sentencepiece sentencepiece_processor.h sentencepiece)
