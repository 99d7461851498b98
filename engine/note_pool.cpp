#include "engine/note_pool.h"

#include <algorithm>

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

}  // namespace mm::engine
