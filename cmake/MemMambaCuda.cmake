# Decides MEMMAMBA_WITH_CUDA (the engine uses the kernels) and MEMMAMBA_KERNELS (they
# are compiled) from MEMMAMBA_CUDA (AUTO|ON|OFF).
# CUDA is used only when both nvcc and a CUDA-enabled LibTorch are present: Debian's
# LibTorch 1.13 is CPU-only, so the everyday build is CPU-only even where nvcc exists.
set(MEMMAMBA_WITH_CUDA OFF)
set(MEMMAMBA_KERNELS OFF)  # kernels/ compiled (nvcc found), used or not
string(TOUPPER "${MEMMAMBA_CUDA}" _mm_cuda)
if(NOT _mm_cuda MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "MEMMAMBA_CUDA must be AUTO, ON or OFF (got '${MEMMAMBA_CUDA}')")
endif()

if(NOT _mm_cuda STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  set(_mm_torch_cuda OFF)
  if(CAFFE2_USE_CUDA OR TORCH_CUDA_LIBRARIES OR TARGET torch_cuda)
    set(_mm_torch_cuda ON)
  endif()
  # The torch-free kernels of kernels/ compile wherever nvcc is found, even beside a
  # CPU-only LibTorch, so a kernel that stops compiling fails the everyday CI build.
  # One architecture (sm_90, the H200) keeps that compile short.
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(MEMMAMBA_KERNELS ON)
  endif()
  if(CMAKE_CUDA_COMPILER AND _mm_torch_cuda)
    set(MEMMAMBA_WITH_CUDA ON)
  elseif(_mm_cuda STREQUAL "ON")
    if(NOT CMAKE_CUDA_COMPILER)
      message(FATAL_ERROR "MEMMAMBA_CUDA=ON but no CUDA compiler (nvcc) was found")
    endif()
    message(FATAL_ERROR "MEMMAMBA_CUDA=ON but LibTorch at '${TORCH_INSTALL_PREFIX}' has no CUDA; "
                        "point CMAKE_PREFIX_PATH at a CUDA build of LibTorch")
  else()
    message(STATUS "MemMamba: CUDA off (nvcc: '${CMAKE_CUDA_COMPILER}', CUDA LibTorch: ${_mm_torch_cuda})")
  endif()
endif()
