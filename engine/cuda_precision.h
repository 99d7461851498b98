#pragma once
// Matrix precision on CUDA: TF32 tensor cores for fp32 matrix products (10-bit mantissa
// on the inputs, fp32 accumulation). Reading and training both use it: the fp32 SIMT
// path was about a third of a 1M-token read on the H200 (docs/perf.md), and the
// scan and its state stay fp32 in our own kernels either way. Process-wide setting.
#include <ATen/Context.h>

namespace mm::engine {

// allow = false restores strict fp32 (tests that hold the CUDA path to the CPU's 1e-4).
inline void allowTf32Matmuls(bool allow = true)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    at::globalContext().setAllowTF32CuBLAS(allow);
    at::globalContext().setAllowTF32CuDNN(allow);
#pragma GCC diagnostic pop
}

} // namespace mm::engine
