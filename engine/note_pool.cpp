#include "engine/note_pool.h"

#include <algorithm>
#include <stdexcept>

namespace mm::engine {

namespace {

// The single order used everywhere: higher priority first; equal priority, newer first.
bool better(float pa, int64_t posa, float pb, int64_t posb)
{
    return pa > pb || (pa == pb && posa > posb);
}

void offerCandidate(std::vector<NoteCandidate>& cands, const NoteCandidate& c, int64_t k)
{
    if (static_cast<int64_t>(cands.size()) < k) {
        cands.push_back(c);
        return;
    }
    auto worst = std::min_element(cands.begin(), cands.end(), [](const NoteCandidate& a, const NoteCandidate& b) {
        return better(b.priority, b.position, a.priority, a.position);
    });
    if (better(c.priority, c.position, worst->priority, worst->position))
        *worst = c;
}

int64_t emptySlot(const PoolMeta& meta)
{
    for (int64_t i = 0; i < meta.slots(); ++i)
        if (meta.position[i] < 0)
            return i;
    return -1;
}

// Merges the candidates into the pool; slotBank (M) follows the slots.
void mergeChunk(PoolMeta& meta, std::vector<int64_t>& slotBank, const PoolRules& rules,
                std::vector<PoolInsertion>& out)
{
    auto& cands = meta.candidates;
    if (rules.eviction == EvictionPolicy::Priority)
        std::sort(cands.begin(), cands.end(), [](const NoteCandidate& a, const NoteCandidate& b) {
            return better(a.priority, a.position, b.priority, b.position);
        });
    else
        std::sort(cands.begin(), cands.end(),
                  [](const NoteCandidate& a, const NoteCandidate& b) { return a.position < b.position; });
    for (const NoteCandidate& c : cands) {
        int64_t slot = emptySlot(meta);
        if (slot < 0) {
            slot = 0;
            for (int64_t i = 1; i < meta.slots(); ++i) {
                const bool worse = rules.eviction == EvictionPolicy::Priority
                                       ? better(meta.priority[slot], meta.position[slot], meta.priority[i],
                                                meta.position[i])
                                       : meta.position[i] < meta.position[slot];
                if (worse)
                    slot = i;
            }
            if (rules.eviction == EvictionPolicy::Priority &&
                !better(c.priority, c.position, meta.priority[slot], meta.position[slot]))
                break;  // sorted best first: no later candidate is better either
        } else {
            ++meta.fill;
        }
        out.push_back({c.position, c.priority, slot, meta.position[slot]});
        meta.position[slot] = c.position;
        meta.priority[slot] = c.priority;
        slotBank[slot] = c.bank;
    }
    cands.clear();
}

}  // namespace

PoolRules poolRules(const ModelConfig& c)
{
    return {c.note_chunk, c.note_threshold, c.notes_per_chunk, c.eviction};
}

PoolWalk walkPool(PoolMeta& meta, const PoolRules& rules, int64_t start, const float* scores, int64_t T)
{
    const int64_t M = meta.slots();
    const int64_t carried = static_cast<int64_t>(meta.candidates.size());
    PoolWalk walk;
    std::vector<int64_t> slotBank(M);
    for (int64_t i = 0; i < M; ++i)
        slotBank[i] = meta.position[i] >= 0 ? i : -1;
    for (int64_t j = 0; j < carried; ++j)
        meta.candidates[j].bank = M + j;
    walk.slot_bank.insert(walk.slot_bank.end(), slotBank.begin(), slotBank.end());
    walk.snapshots = 1;
    for (int64_t i = 0; i < T; ++i) {
        const int64_t pos = start + i;
        if (scores[i] > rules.threshold)
            offerCandidate(meta.candidates, {pos, scores[i], M + carried + i}, rules.per_chunk);
        if ((pos + 1) % rules.chunk == 0) {
            mergeChunk(meta, slotBank, rules, walk.insertions);
            walk.slot_bank.insert(walk.slot_bank.end(), slotBank.begin(), slotBank.end());
            ++walk.snapshots;
        }
    }
    return walk;
}

void packPoolState(const PoolMeta& meta, const kernels::pool::RecordLayout& layout, int64_t* words)
{
    if (meta.slots() != layout.slots || static_cast<int64_t>(meta.candidates.size()) > layout.perChunk)
        throw std::invalid_argument("packPoolState: the pool does not fit the record layout");
    for (int64_t i = 0; i < layout.slots; ++i) {
        words[layout.position() + i] = meta.position[i];
        words[layout.priority() + i] = kernels::pool::floatBits(meta.priority[i]);
    }
    words[layout.fill()] = meta.fill;
    words[layout.candCount()] = static_cast<int64_t>(meta.candidates.size());
    for (int64_t j = 0; j < layout.perChunk; ++j) {
        const bool used = j < static_cast<int64_t>(meta.candidates.size());
        words[layout.candPos() + j] = used ? meta.candidates[j].position : -1;
        words[layout.candPri() + j] = used ? kernels::pool::floatBits(meta.candidates[j].priority) : 0;
        words[layout.candBank() + j] = used ? meta.candidates[j].bank : 0;
    }
}

void unpackPoolRecord(const int64_t* words, const kernels::pool::RecordLayout& layout, PoolMeta& meta,
                      std::vector<PoolInsertion>* insertions)
{
    meta.position.assign(words + layout.position(), words + layout.position() + layout.slots);
    meta.priority.resize(layout.slots);
    for (int64_t i = 0; i < layout.slots; ++i)
        meta.priority[i] = kernels::pool::bitsFloat(words[layout.priority() + i]);
    meta.fill = words[layout.fill()];
    const int64_t n = words[layout.candCount()], inserted = words[layout.insCount()];
    if (n < 0 || n > layout.perChunk || inserted < 0 || inserted > layout.maxInsertions)
        throw std::runtime_error("unpackPoolRecord: the record's counts are out of range (a failed walk?)");
    meta.candidates.resize(n);
    for (int64_t j = 0; j < n; ++j)
        meta.candidates[j] = {words[layout.candPos() + j], kernels::pool::bitsFloat(words[layout.candPri() + j]),
                              words[layout.candBank() + j]};
    if (!insertions)
        return;
    for (int64_t i = 0; i < inserted; ++i) {
        const int64_t* w = words + layout.insertions() + 4 * i;
        insertions->push_back({w[0], kernels::pool::bitsFloat(w[1]), w[2], w[3]});
    }
}

}  // namespace mm::engine
