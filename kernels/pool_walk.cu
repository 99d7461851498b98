// The note pool walk kernels (kernels/pool_walk.h). The rules live in pool_walk_core.h,
// shared with the host emulation that the CPU tests compare with the reference.
#include "kernels/pool_walk.h"

namespace mm::kernels {

namespace {

using pool::Cand;
using pool::Chunks;
using pool::RecordLayout;

constexpr int kSelectThreads = 128;
constexpr int kWarp = 32;
constexpr int kStagedCandidates = 256;  // candidates of consecutive chunks staged in shared memory at once

int stagedChunks(int64_t perChunk) { return static_cast<int>(kStagedCandidates / perChunk); }

// Shared memory of mergeKernel: the pool (positions, bank rows, priorities), then the
// staged chunks' candidates and counts.
size_t mergeSharedBytes(int64_t slots, int64_t perChunk)
{
    const size_t pool = (static_cast<size_t>(slots) * (2 * sizeof(int64_t) + sizeof(float)) + 7) / 8 * 8;
    return pool + kStagedCandidates * sizeof(Cand) + static_cast<size_t>(stagedChunks(perChunk)) * sizeof(int);
}

size_t alignUp(size_t n) { return (n + 255) / 256 * 256; }

// Kernel 1: one thread per (row, chunk). Closed chunks leave their candidates in merge
// order, the open chunk (the piece ends inside it) in the reference's running order.
__global__ void selectKernel(PoolWalkArgs a, Chunks ch, RecordLayout lay, Cand* cands, int* counts)
{
    const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= a.rows * ch.count)
        return;
    const int64_t row = idx / ch.count, g = idx % ch.count;
    const int k = static_cast<int>(a.perChunk);
    Cand local[pool::kMaxPerChunk];
    int n = 0;
    if (g == 0 && a.stateIn) {  // the piece's first chunk goes on from the carried candidates
        const int64_t* st = a.stateIn + row * lay.stateLength();
        const int64_t carried = st[lay.candCount()];
        for (int64_t i = 0; i < carried && i < k; ++i)
            local[n++] = Cand{st[lay.candPos() + i], pool::bitsFloat(st[lay.candPri() + i]), a.carriedBase + i};
    }
    int64_t from = 0, to = 0;
    pool::chunkRange(ch, g, a.chunk, a.length, from, to);
    n = pool::selectChunk(a.scores + row * a.scoreRowStride, from, to, a.start, a.notesBase, a.threshold, k, local, n,
                          a.noteSources ? a.notesBase + g * k : -1);
    if (a.noteSources)
        pool::compactSources(local, n, k, a.start, a.noteSources + idx * k);
    if (g < ch.closed)
        pool::sortForMerge(local, n, a.fifo);
    Cand* out = cands + idx * k;
    for (int i = 0; i < n; ++i)
        out[i] = local[i];
    counts[idx] = n;
}

// Kernel 2: one warp per row. Lane 0 merges chunk after chunk into the pool held in
// shared memory; after each chunk the warp writes the snapshot (bank row per slot). The
// warp stages the candidates of the next chunks in shared memory first, so that lane 0's
// serial walk waits on no global load.
__global__ void mergeKernel(PoolWalkArgs a, Chunks ch, RecordLayout lay, const Cand* cands, const int* counts)
{
    extern __shared__ int64_t shared[];
    const int M = static_cast<int>(a.slots), k = static_cast<int>(a.perChunk), lane = threadIdx.x;
    int64_t* position = shared;
    int64_t* bank = shared + M;
    float* priority = reinterpret_cast<float*>(shared + 2 * M);
    Cand* staged = reinterpret_cast<Cand*>(shared + (2 * M * 8 + M * 4 + 7) / 8);
    int* stagedCounts = reinterpret_cast<int*>(staged + kStagedCandidates);
    const int stage = kStagedCandidates / k;
    const int64_t row = blockIdx.x;
    const int64_t* st = a.stateIn ? a.stateIn + row * lay.stateLength() : nullptr;
    int64_t* out = a.recordOut + row * lay.length();
    int64_t* snapshots = a.slotBank + row * (ch.closed + 1) * M;
    const int64_t rowOffset = row * a.bankRowStride;
    // Training rows may empty their pool at a segment start: those walk chunk by chunk.
    const bool skipRun = !a.fifo && !a.emptyBefore;
    __shared__ int64_t worstShared[1];
    __shared__ float worstPriShared[1];

    for (int i = lane; i < M; i += kWarp) {
        position[i] = st ? st[lay.position() + i] : -1;
        priority[i] = st ? pool::bitsFloat(st[lay.priority() + i]) : 0.0f;
        bank[i] = position[i] >= 0 ? i : -1;
        snapshots[i] = bank[i] < 0 ? -1 : rowOffset + bank[i];
    }
    __syncwarp();
    pool::PoolView view;
    pool::initView(view, position, priority, bank, M, st ? st[lay.fill()] : 0);
    int64_t inserted = 0;
    const int64_t firstChunk = row * ch.count;
    for (int64_t g0 = 0; g0 < ch.closed; g0 += stage) {
        const int n = static_cast<int>(ch.closed - g0 < stage ? ch.closed - g0 : stage);
        for (int i = lane; i < n * k; i += kWarp)  // words past a chunk's count are copied, never read
            staged[i] = cands[(firstChunk + g0) * k + i];
        for (int i = lane; i < n; i += kWarp)
            stagedCounts[i] = counts[firstChunk + g0 + i];
        __syncwarp();
        for (int t = 0; t < n; ++t) {
            if (skipRun) {
                // Most chunks change nothing: their best candidate does not beat the full
                // pool's worst entry (mergeSorted's first step breaks), or they have none.
                // The warp finds the run of such chunks from t at once and writes their
                // snapshots (the pool as it is) in parallel, instead of lane 0 stepping
                // through each. Priority eviction only: a fifo merge always inserts.
                if (lane == 0) {
                    const bool full = pool::poolFull(view);
                    const int w = full ? pool::knownWorst(view, false) : 0;
                    worstShared[0] = full ? static_cast<int64_t>(view.position[w]) : -2;  // -2: not full
                    worstPriShared[0] = full ? view.priority[w] : 0.0f;
                }
                __syncwarp();
                const int64_t worstPos = worstShared[0];
                const float worstPri = worstPriShared[0];
                int run = 0;
                for (int base = t; base < n; base += kWarp) {
                    const int c = base + lane;
                    bool unchanged = c >= n;  // past the staged chunks: ends the run below
                    if (c < n) {
                        const Cand& best = staged[c * k];
                        unchanged = stagedCounts[c] == 0 ||
                                    (worstPos != -2 && !pool::better(best.pri, best.pos, worstPri, worstPos));
                    }
                    const unsigned changes = __ballot_sync(0xffffffffu, !unchanged || c >= n);
                    const int upto = changes ? __ffs(changes) - 1 : kWarp;
                    run += upto;
                    if (upto < kWarp)
                        break;
                }
                if (run > n - t)
                    run = n - t;
                for (int i = lane; i < run * M; i += kWarp) {  // snapshots g0 + t + 1 .. g0 + t + run
                    const int s = i / M, slot = i % M;
                    snapshots[(g0 + t + s + 1) * M + slot] = bank[slot] < 0 ? -1 : rowOffset + bank[slot];
                }
                __syncwarp();
                t += run;
                if (t >= n)
                    break;
            }
            if (lane == 0)
                inserted += pool::mergeSorted(view, staged + t * k, stagedCounts[t], a.fifo,
                                              out + lay.insertions() + 4 * inserted);
            __syncwarp();
            const int64_t g = g0 + t;
            if (a.emptyBefore && g + 1 < ch.count && a.emptyBefore[firstChunk + g + 1]) {
                if (lane == 0)
                    pool::emptyPool(view);  // chunk g + 1 starts a new segment
                __syncwarp();
            }
            int64_t* snap = snapshots + (g + 1) * M;  // snapshot g + 1: the pool chunk g + 1 reads
            for (int i = lane; i < M; i += kWarp)
                snap[i] = bank[i] < 0 ? -1 : rowOffset + bank[i];
            __syncwarp();
        }
    }
    if (lane == 0) {
        out[lay.fill()] = view.fill;
        out[lay.insCount()] = inserted;
        const bool open = ch.count > ch.closed;
        const int n = open ? counts[firstChunk + ch.count - 1] : 0;
        const Cand* c = cands + (firstChunk + ch.count - 1) * k;
        out[lay.candCount()] = n;
        for (int i = 0; i < k; ++i) {
            out[lay.candPos() + i] = i < n ? c[i].pos : -1;
            out[lay.candPri() + i] = i < n ? pool::floatBits(c[i].pri) : 0;
            out[lay.candBank() + i] = i < n ? c[i].bank : 0;  // a valid row for a fixed-size gather
        }
    }
    __syncwarp();
    for (int i = lane; i < M; i += kWarp) {
        out[lay.position() + i] = position[i];
        out[lay.priority() + i] = pool::floatBits(priority[i]);
    }
}

}  // namespace

bool poolWalkSupports(int64_t slots, int64_t perChunk, int64_t chunk)
{
    return slots >= 1 && slots <= 1024 && perChunk >= 1 && perChunk <= pool::kMaxPerChunk && chunk >= 1;
}

size_t poolWalkWorkspaceBytes(int64_t rows, int64_t start, int64_t length, int64_t chunk, int64_t perChunk)
{
    const int64_t chunks = rows * pool::chunksOf(start, length, chunk).count;
    return alignUp(static_cast<size_t>(chunks * perChunk) * sizeof(Cand)) + alignUp(static_cast<size_t>(chunks) * sizeof(int));
}

cudaError_t poolWalk(const PoolWalkArgs& a, cudaStream_t stream)
{
    if (!poolWalkSupports(a.slots, a.perChunk, a.chunk) || a.rows < 1 || a.length < 1 || a.start < 0 || !a.scores ||
        !a.slotBank || !a.recordOut || !a.workspace)
        return cudaErrorInvalidValue;
    const Chunks ch = pool::chunksOf(a.start, a.length, a.chunk);
    const RecordLayout lay = pool::recordLayout(a.slots, a.perChunk, a.start, a.length, a.chunk);
    const int64_t chunks = a.rows * ch.count;
    Cand* cands = static_cast<Cand*>(a.workspace);
    int* counts = reinterpret_cast<int*>(static_cast<char*>(a.workspace) +
                                         alignUp(static_cast<size_t>(chunks * a.perChunk) * sizeof(Cand)));
    const int64_t blocks = (chunks + kSelectThreads - 1) / kSelectThreads;
    if (blocks > 0x7fffffff || a.rows > 0x7fffffff)
        return cudaErrorInvalidValue;
    selectKernel<<<static_cast<unsigned>(blocks), kSelectThreads, 0, stream>>>(a, ch, lay, cands, counts);
    mergeKernel<<<static_cast<unsigned>(a.rows), kWarp, mergeSharedBytes(a.slots, a.perChunk), stream>>>(a, ch, lay,
                                                                                                        cands, counts);
    return cudaGetLastError();
}

}  // namespace mm::kernels
