// The note pool walk on the GPU, torch-free: engine/note_pool.cpp's walkPool for many
// rows at once (batch rows in training, one document in reading), its results identical
// to the reference's. Two kernels:
//   1. selection, one thread per (row, note chunk), all chunks in parallel: the running
//      top-k of the chunk's scores above the threshold (the piece's first chunk starts
//      from the state's carried candidates), sorted in merge order when the chunk closes;
//   2. merge, one warp per row, chunk after chunk in order, the pool in shared memory:
//      one lane applies the merge rules (pool_walk_core.h), the warp writes each snapshot.
// Bank rows (what slotBank holds): carried candidate j is carriedBase + j, score i is
// notesBase + i, pool slot i is i; in slotBank each row adds row * bankRowStride
// (the caller's bank is flattened over rows); -1 marks an empty slot. Compact notes
// (noteSources set): the bank holds notes only for the k candidate places of each chunk
// the piece touches; score i's note, while it is candidate j of chunk g, is bank row
// notesBase + g * k + j, and noteSources[g * k + j] says which score that is (-1: none).
// Segments (emptyBefore, training rows packed with several samples): each segment's walk
// is the reference's walk of that segment alone from an empty pool; positions in the
// records stay the row's (the decisions only compare positions within a segment).
#pragma once

#include "kernels/pool_walk_core.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace mm::kernels {

struct PoolWalkArgs {
    int64_t rows = 1, length = 0;  // rows of T scores
    int64_t start = 0;             // absolute position of score 0 (every row)
    int64_t slots = 0, perChunk = 0, chunk = 0;  // M, k, C
    double threshold = 0.5;
    bool fifo = false;                         // eviction policy: fifo, else priority
    const float* scores = nullptr;             // (rows, T), row stride below, contiguous rows
    int64_t scoreRowStride = 0;
    const int64_t* stateIn = nullptr;          // (rows, layout.stateLength()) or null: empty pools
    int64_t carriedBase = 0, notesBase = 0, bankRowStride = 0;
    int64_t* noteSources = nullptr;            // (rows, chunks, k) or null; set: compact notes (below)
    const uint8_t* emptyBefore = nullptr;      // (rows, chunks) or null: nonzero where chunk g starts a
                                               // new segment (the pool it reads is empty again)
    int64_t* slotBank = nullptr;               // (rows, closed + 1, M)
    int64_t* recordOut = nullptr;              // (rows, layout.length()): state after the piece, insertions
    void* workspace = nullptr;                 // poolWalkWorkspaceBytes()
};

/// Whether the kernels take these sizes (M in [1, 1024], k in [1, kMaxPerChunk], C >= 1).
bool poolWalkSupports(int64_t slots, int64_t perChunk, int64_t chunk);
size_t poolWalkWorkspaceBytes(int64_t rows, int64_t start, int64_t length, int64_t chunk, int64_t perChunk);
cudaError_t poolWalk(const PoolWalkArgs& args, cudaStream_t stream);

}  // namespace mm::kernels
