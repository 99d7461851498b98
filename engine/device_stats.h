// Device memory figures for benchmarks, torch-free (app/cli/cmd_bench.cpp includes it).
#pragma once

#include <cstdint>

namespace mm::engine {

/// Peak bytes held by LibTorch's CUDA allocator on device 0 since the last reset, or -1
/// without a CUDA build or device.
int64_t cudaPeakAllocatedBytes();
/// Starts a new peak (no-op without CUDA).
void cudaResetPeak();
/// Waits for the device's queued work (no-op without CUDA): timings end with it.
void cudaSynchronize();

}  // namespace mm::engine
