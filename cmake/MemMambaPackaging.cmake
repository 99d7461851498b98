# Install rules and CPack (.deb for Debian 12): see docs/packaging.md.
#
# The layout under the prefix (/usr in the package) is the one the programs look for at
# run time beside their own executable (engine/tokenizer/resource_paths.cpp), so an
# installed memmamba finds everything without an environment variable:
#   bin/memmamba, bin/memmamba-reader, bin/memmamba-train
#   lib/memmamba/libmemmamba_spm.so      <- ../lib/memmamba/libmemmamba_spm.so from bin/
#   share/memmamba/{models/default,tokenizer,books}  <- ../share/memmamba from bin/
#   share/applications, share/metainfo, share/icons/hicolor, share/man/man1, share/doc
# Destinations are relative, so the same rules serve `cmake --install` to any prefix.
# Run from the build tree, the programs keep finding build/lib and the source tree's
# resources/ (the compile-time fallbacks), since build/share/memmamba does not exist.

set(MEMMAMBA_PACKAGE_NAME memmamba-reader)
set(_mm_data share/memmamba)
set(_mm_res ${PROJECT_SOURCE_DIR}/resources)

# ---- programs and the tokenizer module ------------------------------------------------
foreach(_mm_exe memmamba memmamba-reader memmamba-train)
  if(TARGET ${_mm_exe})
    install(TARGETS ${_mm_exe} RUNTIME DESTINATION bin)
  endif()
endforeach()
install(TARGETS memmamba_spm LIBRARY DESTINATION lib/memmamba)

# ---- data: the shipped model, the tokenizer, the sample book --------------------------
install(FILES ${_mm_res}/models/default/config.json ${_mm_res}/models/default/model.safetensors
        DESTINATION ${_mm_data}/models/default)
install(FILES ${_mm_res}/tokenizer/memmamba.model ${_mm_res}/tokenizer/memmamba.vocab
              ${_mm_res}/tokenizer/README.md
        DESTINATION ${_mm_data}/tokenizer)
install(FILES ${_mm_res}/books/shirley.txt ${_mm_res}/books/README.md
        DESTINATION ${_mm_data}/books)

# ---- desktop integration: desktop entry, AppStream, icons ------------------------------
if(TARGET memmamba-reader)
  install(FILES ${_mm_res}/desktop/memmamba-reader.desktop DESTINATION share/applications)
  install(FILES ${_mm_res}/desktop/io.github.memmamba.Reader.metainfo.xml DESTINATION share/metainfo)
  foreach(_mm_size 16 22 24 32 48 64 128 256)
    install(FILES ${_mm_res}/icons/hicolor/${_mm_size}x${_mm_size}/memmamba-reader.png
            DESTINATION share/icons/hicolor/${_mm_size}x${_mm_size}/apps)
  endforeach()
  install(FILES ${_mm_res}/icons/memmamba-reader.svg DESTINATION share/icons/hicolor/scalable/apps)
endif()

# ---- man pages (gzipped at build time, as Debian ships them) ----------------------------
find_program(MEMMAMBA_GZIP gzip)
set(_mm_man_pages memmamba)
if(TARGET memmamba-reader)
  list(APPEND _mm_man_pages memmamba-reader)
endif()
if(TARGET memmamba-train)
  list(APPEND _mm_man_pages memmamba-train)
endif()
set(_mm_man_outputs)
foreach(_mm_page ${_mm_man_pages})
  set(_mm_src ${PROJECT_SOURCE_DIR}/installer/man/${_mm_page}.1)
  if(MEMMAMBA_GZIP)
    set(_mm_out ${CMAKE_BINARY_DIR}/man/${_mm_page}.1.gz)
    add_custom_command(OUTPUT ${_mm_out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND ${MEMMAMBA_GZIP} -9 -n -c ${_mm_src} > ${_mm_out}
      DEPENDS ${_mm_src} VERBATIM)
  else()
    set(_mm_out ${_mm_src})
  endif()
  list(APPEND _mm_man_outputs ${_mm_out})
endforeach()
add_custom_target(memmamba_man ALL DEPENDS ${_mm_man_outputs})
install(FILES ${_mm_man_outputs} DESTINATION share/man/man1)

# Debian's documentation of a package: copyright and (a native package's) changelog.gz.
# Both name MEMMAMBA_MAINTAINER (CMakeLists.txt), filled in here.
configure_file(${PROJECT_SOURCE_DIR}/installer/debian/copyright.in ${CMAKE_BINARY_DIR}/debian/copyright @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/installer/debian/changelog.in ${CMAKE_BINARY_DIR}/debian/changelog @ONLY)
set(_mm_docs ${CMAKE_BINARY_DIR}/debian/copyright)  # holds the licence (Debian keeps no LICENSE file)
if(MEMMAMBA_GZIP)
  set(_mm_changelog ${CMAKE_BINARY_DIR}/man/changelog.gz)
  add_custom_command(OUTPUT ${_mm_changelog}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${MEMMAMBA_GZIP} -9 -n -c ${CMAKE_BINARY_DIR}/debian/changelog > ${_mm_changelog}
    DEPENDS ${CMAKE_BINARY_DIR}/debian/changelog VERBATIM)
  add_custom_target(memmamba_changelog ALL DEPENDS ${_mm_changelog})
  list(APPEND _mm_docs ${_mm_changelog})
endif()
install(FILES ${_mm_docs} DESTINATION share/doc/${MEMMAMBA_PACKAGE_NAME})

# ---- CPack: one .deb --------------------------------------------------------------------
if(MEMMAMBA_WITH_CUDA)
  message(WARNING "MemMamba: this build uses a CUDA LibTorch; its .deb would depend on "
                  "libraries Debian does not ship. The package is meant for the CPU build.")
endif()
set(CPACK_PACKAGE_NAME ${MEMMAMBA_PACKAGE_NAME})
set(CPACK_PACKAGE_VENDOR "MemMamba Reader developers")
set(CPACK_PACKAGE_CONTACT "${MEMMAMBA_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${MEMMAMBA_MAINTAINER}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "desktop reader for long documents with a MemMamba model's memory")
set(CPACK_PACKAGE_DESCRIPTION
"MemMamba Reader is a desktop reader for long documents: plain text, Markdown,
EPUB, HTML and PDF books, a library with full-text search (SQLite FTS5) and
reading positions. A small MemMamba model (a state-space model with a pool of
notes, run by LibTorch on the CPU) reads each book once and keeps its memory
in the library, so questions are answered as of the reading position from the
saved state. Includes the command line memmamba, the shipped 8.85M-parameter
model, its sentencepiece tokenizer and a public-domain sample book.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)          # memmamba-reader_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION text)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Every shared library the programs and the tokenizer module link (LibTorch, Qt 6 with
# Charts and Pdf, sentencepiece, SQLite, zstd, libzip, ...) through dpkg-shlibdeps;
# below only what is loaded at run time without being linked.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
# CPack adds ldconfig to postinst/postrm because the module sits under /usr/lib
# (lintian: maintscript-calls-ldconfig, a harmless warning; the module is dlopen'ed by path).
# libopenblas0-openmp: LibTorch's BLAS through the libblas.so.3 alternative (the
# reference libblas3 that libtorch1.13 depends on is 15-30x slower for the model's
# matmuls). Qt's xcb and offscreen platform plugins come with libqt6gui6; Wayland's
# (qt6-wayland) is only suggested, Qt uses xcb through XWayland without it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-openmp | libopenblas0")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "fonts-dejavu-core")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "qt6-wayland")
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/packages)
include(CPack)

# ---- the package test (installs the .deb into a debootstrap root; label "package") ------
if(MEMMAMBA_BUILD_TESTS)
  add_test(NAME package_debootstrap
           COMMAND bash ${PROJECT_SOURCE_DIR}/installer/test-package.sh --build-dir ${CMAKE_BINARY_DIR})
  # Exit 77: not root, no debootstrap or no mirror; ctest lists it as skipped.
  set_tests_properties(package_debootstrap PROPERTIES
    LABELS package TIMEOUT 1800 SKIP_RETURN_CODE 77 RUN_SERIAL ON)
endif()
