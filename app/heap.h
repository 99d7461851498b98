// The process's heap policy, set first thing in main() of the reader and the command line.
#pragma once

namespace mm {

/// Keeps memory that the program frees for its next allocations instead of giving it back to
/// the kernel at once (glibc: trim threshold 64 MB, top pad 16 MB, mmap only for blocks over
/// 32 MB). Answering a question allocates and frees the same few megabytes again and again;
/// with glibc's defaults each round trip is a trim and fresh page faults, which cost most on
/// virtual machines (docs/results.md "Answers": answer_ms p95 10% lower on the build machine).
/// MEMMAMBA_MALLOC=default leaves glibc's defaults (to measure the difference). No effect with
/// other C libraries. Returns whether it changed anything.
bool keepFreedMemory();

}  // namespace mm
