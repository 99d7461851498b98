#include "app/heap.h"

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mm {

bool keepFreedMemory()
{
    const char* choice = std::getenv("MEMMAMBA_MALLOC");
    if (choice && std::strcmp(choice, "default") == 0)
        return false;
#if defined(__GLIBC__)
    // The environment's own MALLOC_*_ settings win: someone tuning glibc by hand means it.
    if (std::getenv("MALLOC_TRIM_THRESHOLD_") || std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TOP_PAD_"))
        return false;
    constexpr int kMiB = 1024 * 1024;
    const bool trim = mallopt(M_TRIM_THRESHOLD, 64 * kMiB) == 1;
    const bool pad = mallopt(M_TOP_PAD, 16 * kMiB) == 1;
    const bool mmapped = mallopt(M_MMAP_THRESHOLD, 32 * kMiB) == 1;  // glibc's largest
    return trim && pad && mmapped;
#else
    return false;
#endif
}

}  // namespace mm
