// The state pool's bookkeeping (docs/spec/MODEL.md "Note chunks and causality"), torch-free.
//
// The pool of a layer holds M slots; slot i has the absolute position of the token it
// came from (-1: empty) and its priority (the token's score a_t). Tokens are cut into
// note chunks of C positions from the start of the document. While a chunk is read, the
// tokens with score > tau compete for k candidate places (higher score wins; equal
// scores: the later token). When the chunk's last token has been read, the candidates
// are merged into the pool:
//   priority: best candidate first; an empty slot if any, else the slot of the worst
//             entry (lowest priority, equal: oldest) if the candidate is better; so the
//             pool keeps the M best of pool + candidates.
//   fifo:     oldest candidate first; an empty slot if any, else the oldest entry's slot.
//
// walkPool() runs this over a piece of tokens without touching any tensor: it says which
// "bank" row every slot holds in each snapshot (the pool as it stands during one chunk),
// so the caller can gather all snapshots with one index_select. Bank rows, in order:
// the M current pool values, the carried candidates, then the piece's T new notes.
#pragma once

#include "engine/config.h"
#include "kernels/pool_walk_core.h"

#include <cstdint>
#include <vector>

namespace mm::engine {

struct NoteCandidate {
    int64_t position = -1;
    float priority = 0;
    int64_t bank = -1;  ///< row of its value in the bank of the current walk
};

struct PoolMeta {
    std::vector<int64_t> position;  ///< (M) absolute token position, -1 for an empty slot
    std::vector<float> priority;    ///< (M)
    int64_t fill = 0;               ///< occupied slots (they are never emptied again)
    std::vector<NoteCandidate> candidates;  ///< running top-k of the unfinished chunk (<= k)

    explicit PoolMeta(int64_t slots = 0) : position(slots, -1), priority(slots, 0.0f) {}
    int64_t slots() const { return static_cast<int64_t>(position.size()); }
};

struct PoolInsertion {
    int64_t position = 0;
    float score = 0;
    int64_t slot = 0;
    int64_t evicted_position = -1;  ///< -1 when the slot was empty
};

struct PoolWalk {
    int64_t snapshots = 0;              ///< S: pools in force during the piece, chunk by chunk
    std::vector<int64_t> slot_bank;     ///< (S, M): bank row held by each slot, -1 empty
    std::vector<PoolInsertion> insertions;  ///< in order of the merges
};

struct PoolRules {
    int64_t chunk = 128;          // C
    double threshold = 0.5;       // tau
    int64_t per_chunk = 8;        // k
    EvictionPolicy eviction = EvictionPolicy::Priority;
};

PoolRules poolRules(const ModelConfig& c);

/// Reads scores[0..T) of positions start..start+T-1 into the pool. Snapshot j is the pool
/// read by the tokens of the j-th chunk touched by the piece; the last snapshot is the
/// pool after the piece. On return, meta describes the pool after the piece and its
/// candidates' bank rows point into this walk's bank (the caller gathers them).
PoolWalk walkPool(PoolMeta& meta, const PoolRules& rules, int64_t start, const float* scores, int64_t T);

/// The pool state as the device walk reads it (kernels/pool_walk_core.h's record layout):
/// layout.stateLength() words. The candidates' bank rows are not stored (the walk numbers
/// them), at most layout.perChunk candidates fit.
void packPoolState(const PoolMeta& meta, const kernels::pool::RecordLayout& layout, int64_t* words);
/// Reads a device walk's record: meta becomes the pool after the piece (its candidates'
/// bank rows as the walk numbered them, like walkPool's), and the walk's insertions are
/// appended to insertions unless it is null.
void unpackPoolRecord(const int64_t* words, const kernels::pool::RecordLayout& layout, PoolMeta& meta,
                      std::vector<PoolInsertion>* insertions);

}  // namespace mm::engine
