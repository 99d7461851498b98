// Allowed: kernels include their own headers and CUDA only.
#include "selective_scan.h"
#include <cuda_runtime.h>
