// The note pool walk on the GPU (kernels/pool_walk.cu) behind tensors, for the reading
// path (engine/model.cpp) and the batched training forward. engine/note_pool.h's
// walkPool stays the reference: the kernels reproduce it exactly (slot by slot, note by
// note; tests/engine/test_pool_walk*.cpp). MEMMAMBA_POOL_WALK=cpu (`memmamba bench
// ingest --pool-walk cpu`) keeps the host walk on CUDA too. Without a CUDA build
// deviceWalkApplies() is false and walkPoolsOnDevice is never called (engine/cuda_stub.cpp).
#pragma once

#include "engine/note_pool.h"
#include "kernels/pool_walk_core.h"

#include <ATen/ATen.h>

namespace mm::engine {

bool deviceWalkApplies(const at::Device& device, const PoolRules& rules, int64_t slots);

struct DeviceWalk {
    kernels::pool::RecordLayout layout{};
    int64_t snapshots = 0;  ///< S, as PoolWalk::snapshots
    at::Tensor slotBank;    ///< (rows, S, M) int64 on the device, as PoolWalk::slot_bank per row
    at::Tensor noteSources; ///< compact notes only: (rows, G * k) int64, the score behind each note row, -1 none
};

/// The record layout of a walk over T scores from position start.
inline kernels::pool::RecordLayout walkRecordLayout(const PoolRules& rules, int64_t slots, int64_t start, int64_t T)
{
    return kernels::pool::recordLayout(slots, rules.per_chunk, start, T, rules.chunk);
}

/// Walks rows of scores (rows, T) on their CUDA device from position start. stateIn: the
/// pools before, (rows, layout.stateLength()) int64 words (packPoolState) on the device,
/// or undefined for empty pools. Bank rows: carried candidate j is carriedBase + j, score
/// i is notesBase + i, slot i is i, plus row * bankRowStride. records: (rows,
/// layout.length()) contiguous int64 on the device, written (unpackPoolRecord reads
/// them). compactNotes: the bank holds notes only for the G * k candidate places of the G
/// chunks the piece touches (kernels/pool_walk.h), noteSources says for which scores.
/// emptyBefore: (rows, G) uint8 on the device or undefined: nonzero where a chunk starts a
/// new segment of its row (training rows packed with samples; each segment's walk is the
/// reference's walk of it alone). Asynchronous on the current stream.
DeviceWalk walkPoolsOnDevice(const at::Tensor& scores, const PoolRules& rules, int64_t slots, int64_t start,
                             const at::Tensor& stateIn, int64_t carriedBase, int64_t notesBase, int64_t bankRowStride,
                             const at::Tensor& records, bool compactNotes = false, const at::Tensor& emptyBefore = {});

}  // namespace mm::engine
