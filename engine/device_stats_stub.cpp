// engine/device_stats.h for builds without CUDA: no device, nothing to measure.
#include "engine/device_stats.h"

namespace mm::engine {

int64_t cudaPeakAllocatedBytes() { return -1; }
void cudaResetPeak() {}
void cudaSynchronize() {}

}  // namespace mm::engine
