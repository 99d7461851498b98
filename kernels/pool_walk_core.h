// The note pool walk's rules as code that compiles for both the host and the device
// (plain C++ without nvcc), so the GPU walk (kernels/pool_walk.cu) and its host
// emulation (tested without a GPU) run the same lines. The reference they must
// reproduce exactly is engine/note_pool.cpp's walkPool (docs/spec/MODEL.md "Note chunks and
// causality"); every rule below names the reference step it mirrors.
//
// Also the record layout the device walk reads the pool state from and writes the new
// state and its insertions to (int64 words; a priority or score is a float's bits).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define MM_POOL_HD __host__ __device__ __forceinline__
#else
#define MM_POOL_HD inline
#endif

namespace mm::kernels::pool {

/// Largest candidates per chunk (k) the device walk keeps in registers.
constexpr int kMaxPerChunk = 32;

struct Cand {
    int64_t pos;
    float pri;
    int64_t bank;
};

MM_POOL_HD int64_t floatBits(float f)
{
    uint32_t u = 0;
    memcpy(&u, &f, sizeof u);
    return static_cast<int64_t>(u);
}

MM_POOL_HD float bitsFloat(int64_t w)
{
    const uint32_t u = static_cast<uint32_t>(w);
    float f = 0;
    memcpy(&f, &u, sizeof f);
    return f;
}

/// The single order: higher priority first; equal priority, newer first (note_pool.cpp better()).
MM_POOL_HD bool better(float pa, int64_t posa, float pb, int64_t posb)
{
    return pa > pb || (pa == pb && posa > posb);
}

/// offerCandidate: append while fewer than k, else replace the first worst (what
/// std::min_element finds) if c is better. The order of cands is the reference's.
/// Returns where c went, -1 if nowhere.
MM_POOL_HD int offer(Cand* cands, int& n, const Cand& c, int k)
{
    if (n < k) {
        cands[n] = c;
        return n++;
    }
    int worst = 0;
    for (int i = 1; i < n; ++i)
        if (better(cands[worst].pri, cands[worst].pos, cands[i].pri, cands[i].pos))
            worst = i;
    if (!better(c.pri, c.pos, cands[worst].pri, cands[worst].pos))
        return -1;
    cands[worst] = c;
    return worst;
}

/// mergeChunk's sort: best first (priority) or oldest first (fifo). Both orders are total
/// on distinct positions, so any correct sort gives std::sort's result.
MM_POOL_HD void sortForMerge(Cand* c, int n, bool fifo)
{
    for (int i = 1; i < n; ++i) {
        const Cand v = c[i];
        int j = i - 1;
        while (j >= 0 && (fifo ? v.pos < c[j].pos : better(v.pri, v.pos, c[j].pri, c[j].pos))) {
            c[j + 1] = c[j];
            --j;
        }
        c[j + 1] = v;
    }
}

/// The candidates of one note chunk: scores[from, to) of positions start + from..; bank
/// row of score i: notesBase + i, or with compact notes (compactBase >= 0) compactBase + j
/// for the candidate at place j of the running list (the caller then computes notes only
/// for the final candidates, compactSources()). out[0, n) holds the running top-k the
/// chunk starts from (the state's carried candidates, for the piece's first chunk);
/// returns the new count. The threshold is compared in double, as the reference compares
/// float scores with its double tau.
MM_POOL_HD int selectChunk(const float* scores, int64_t from, int64_t to, int64_t start, int64_t notesBase,
                           double threshold, int k, Cand* out, int n, int64_t compactBase = -1)
{
    for (int64_t i = from; i < to; ++i) {
        const float a = scores[i];
        if (static_cast<double>(a) > threshold) {
            const int j = offer(out, n, Cand{start + i, a, notesBase + i}, k);
            if (compactBase >= 0 && j >= 0)
                out[j].bank = compactBase + j;
        }
    }
    return n;
}

/// With compact notes: the piece index of the token whose note is compact row j of the
/// chunk (its candidate list, before any sort), -1 for a row no note uses (a carried
/// candidate's place, or past the count).
MM_POOL_HD void compactSources(const Cand* cands, int n, int k, int64_t start, int64_t* sources)
{
    for (int j = 0; j < k; ++j)
        sources[j] = j < n && cands[j].pos >= start ? cands[j].pos - start : -1;
}

/// One row's pool while it is walked (arrays of M), with what the merge keeps between
/// chunks to skip repeated searches (valid because slots are never emptied).
struct PoolView {
    int64_t* position;
    float* priority;
    int64_t* slotBank;
    int slots;
    int64_t fill;
    int firstMaybeEmpty;  ///< no empty slot below this index
    int worst;            ///< the slot the reference would evict, -1: not known
};

/// Empties the pool (a new segment of a packed training row starts here); one thread.
MM_POOL_HD void emptyPool(PoolView& p)
{
    for (int i = 0; i < p.slots; ++i) {
        p.position[i] = -1;
        p.priority[i] = 0.0f;
        p.slotBank[i] = -1;
    }
    p.fill = 0;
    p.firstMaybeEmpty = 0;
    p.worst = -1;
}

MM_POOL_HD void initView(PoolView& p, int64_t* position, float* priority, int64_t* slotBank, int slots, int64_t fill)
{
    p.position = position;
    p.priority = priority;
    p.slotBank = slotBank;
    p.slots = slots;
    p.fill = fill;
    p.firstMaybeEmpty = 0;
    p.worst = -1;
}

/// The slot the reference would evict from a full pool (priority: the first of the lowest
/// priority, equal: oldest; fifo: the oldest), found once and kept until the pool changes.
MM_POOL_HD int knownWorst(PoolView& p, bool fifo)
{
    if (p.worst < 0) {
        int w = 0;
        for (int i = 1; i < p.slots; ++i) {
            const bool worse = fifo ? p.position[i] < p.position[w]
                                    : better(p.priority[w], p.position[w], p.priority[i], p.position[i]);
            if (worse)
                w = i;
        }
        p.worst = w;
    }
    return p.worst;
}

/// Whether the pool has no empty slot left (advances the lowest-empty search as the
/// merge does; slots are never emptied within a segment).
MM_POOL_HD bool poolFull(PoolView& p)
{
    while (p.firstMaybeEmpty < p.slots && p.position[p.firstMaybeEmpty] >= 0)
        ++p.firstMaybeEmpty;
    return p.firstMaybeEmpty >= p.slots;
}

/// mergeChunk for candidates already in merge order: an empty slot (the lowest) if any,
/// else the slot of the first worst entry (priority: lowest priority, equal: oldest;
/// fifo: oldest), the candidate going in only if better (priority), and then no later
/// candidate either. Writes 4 words per insertion (position, score bits, slot, evicted
/// position) to ins; returns how many.
MM_POOL_HD int mergeSorted(PoolView& p, const Cand* c, int n, bool fifo, int64_t* ins)
{
    int count = 0;
    for (int j = 0; j < n; ++j) {
        int slot = -1;
        if (!poolFull(p)) {
            slot = p.firstMaybeEmpty;
            ++p.fill;
        } else {
            slot = knownWorst(p, fifo);
            if (!fifo && !better(c[j].pri, c[j].pos, p.priority[slot], p.position[slot]))
                break;  // sorted best first: no later candidate is better either
        }
        int64_t* rec = ins + 4 * count++;
        rec[0] = c[j].pos;
        rec[1] = floatBits(c[j].pri);
        rec[2] = slot;
        rec[3] = p.position[slot];
        p.position[slot] = c[j].pos;
        p.priority[slot] = c[j].pri;
        p.slotBank[slot] = c[j].bank;
        p.worst = -1;  // the pool changed
    }
    return count;
}

/// The chunks a piece of T scores starting at absolute position start touches.
struct Chunks {
    int64_t offset;  ///< start % C
    int64_t count;   ///< G, chunks touched
    int64_t closed;  ///< chunks whose last token is in the piece (merged); count - closed is 0 or 1
};

MM_POOL_HD Chunks chunksOf(int64_t start, int64_t T, int64_t C)
{
    Chunks ch;
    ch.offset = start % C;
    ch.count = (ch.offset + T + C - 1) / C;
    ch.closed = (ch.offset + T) / C;
    return ch;
}

/// Piece indices [from, to) of chunk g.
MM_POOL_HD void chunkRange(const Chunks& ch, int64_t g, int64_t C, int64_t T, int64_t& from, int64_t& to)
{
    from = g == 0 ? 0 : g * C - ch.offset;
    to = (g + 1) * C - ch.offset;
    if (to > T)
        to = T;
}

/// A row's record, int64 words: the pool state (what stateIn holds), then the
/// insertions of the walk (recordOut only).
struct RecordLayout {
    int64_t slots, perChunk, maxInsertions;
    MM_POOL_HD int64_t position() const { return 0; }
    MM_POOL_HD int64_t priority() const { return slots; }
    MM_POOL_HD int64_t fill() const { return 2 * slots; }
    MM_POOL_HD int64_t candCount() const { return 2 * slots + 1; }
    MM_POOL_HD int64_t candPos() const { return 2 * slots + 2; }
    MM_POOL_HD int64_t candPri() const { return 2 * slots + 2 + perChunk; }
    MM_POOL_HD int64_t candBank() const { return 2 * slots + 2 + 2 * perChunk; }
    MM_POOL_HD int64_t stateLength() const { return 2 * slots + 2 + 3 * perChunk; }
    MM_POOL_HD int64_t insCount() const { return stateLength(); }
    MM_POOL_HD int64_t insertions() const { return stateLength() + 1; }  ///< 4 words each
    MM_POOL_HD int64_t length() const { return stateLength() + 1 + 4 * maxInsertions; }
};

MM_POOL_HD RecordLayout recordLayout(int64_t slots, int64_t perChunk, int64_t start, int64_t T, int64_t C)
{
    return {slots, perChunk, chunksOf(start, T, C).closed * perChunk};
}

}  // namespace mm::kernels::pool
