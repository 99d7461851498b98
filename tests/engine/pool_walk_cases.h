// Score patterns for the device pool walk (kernels/pool_walk.cu) against the reference
// (engine/note_pool.cpp's walkPool), and the bit-for-bit comparison of their results.
// Shared by tst_note_path (the kernels' rules run on the host) and tst_pool_walk_gpu
// (the kernels on the device).
#pragma once

#include "engine/note_pool.h"
#include "kernels/pool_walk_core.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace mm::test {

struct WalkCase {
    std::string name;
    engine::PoolRules rules;
    int64_t poolSlots = 50;
    std::vector<int64_t> pieces;  // lengths of the pieces walked one after another
    std::vector<float> scores;    // all pieces' scores, back to back
};

inline engine::PoolRules walkRules(int64_t chunk, double threshold, int64_t k, bool fifo)
{
    return {chunk, threshold, k, fifo ? EvictionPolicy::Fifo : EvictionPolicy::Priority};
}

/// Random, tied, threshold-edge, ramped, sparse and NaN scores; pools that stay empty,
/// fill, or evict every chunk; pieces that cut chunks anywhere (carried candidates) and
/// single tokens; both eviction policies.
inline std::vector<WalkCase> walkCases()
{
    std::mt19937 rng(2024);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    auto fill = [&](int64_t n, const std::function<float(int64_t)>& f) {
        std::vector<float> v(n);
        for (int64_t i = 0; i < n; ++i)
            v[i] = f(i);
        return v;
    };
    auto total = [](const std::vector<int64_t>& p) {
        int64_t n = 0;
        for (int64_t x : p)
            n += x;
        return n;
    };
    const std::vector<int64_t> oddPieces{1, 127, 128, 129, 1, 1, 300, 5, 2000, 64, 63, 1, 900};
    std::vector<int64_t> singles(300, 1);
    singles.push_back(517);
    const float tauF = 0.3f;  // float(0.3) > 0.3 as a double: passes a tau of 0.3
    const float nan = std::numeric_limits<float>::quiet_NaN();

    std::vector<WalkCase> cases;
    for (bool fifo : {false, true}) {
        const std::string p = fifo ? "fifo " : "priority ";
        const engine::PoolRules def = walkRules(128, 0.5, 8, fifo);
        cases.push_back({p + "random, one long piece", def, 50, {20000}, {}});
        cases.push_back({p + "random, odd pieces", def, 50, oddPieces, {}});
        cases.push_back({p + "random, single tokens", walkRules(16, 0.5, 3, fifo), 6, singles, {}});
        cases.push_back({p + "all equal", def, 50, oddPieces, fill(total(oddPieces), [](int64_t) { return 0.9f; })});
        cases.push_back({p + "four levels (ties at and above tau)", def, 50, oddPieces,
                         fill(total(oddPieces), [&](int64_t) { return 0.25f * float(1 + rng() % 4); })});
        cases.push_back({p + "float tau edge", walkRules(128, 0.3, 8, fifo), 50, oddPieces,
                         fill(total(oddPieces), [&](int64_t) {
                             return rng() % 2 ? tauF : std::nextafter(tauF, 0.0f);
                         })});
        cases.push_back({p + "none above tau", def, 50, {700, 333}, fill(1033, [&](int64_t) { return 0.5f * uni(rng); })});
        cases.push_back({p + "ascending ramp", def, 50, oddPieces,
                         fill(total(oddPieces), [](int64_t i) { return 0.5f + 0.5f * float(i) / 5000.0f; })});
        cases.push_back({p + "descending ramp", def, 50, oddPieces,
                         fill(total(oddPieces), [](int64_t i) { return 1.0f - 0.4f * float(i) / 5000.0f; })});
        cases.push_back({p + "sparse spikes and NaN", def, 50, oddPieces, fill(total(oddPieces), [&](int64_t) {
                             const unsigned v = rng() % 100;
                             return v == 0 ? nan : v < 4 ? 0.99f : v < 6 ? 1.0f : 0.01f;
                         })});
        cases.push_back({p + "signed zeros, everything passes", walkRules(128, -1.0, 8, fifo), 50, oddPieces,
                         fill(total(oddPieces), [&](int64_t) { return rng() % 2 ? 0.0f : -0.0f; })});
        cases.push_back({p + "M 1, k 1, C 1", walkRules(1, 0.5, 1, fifo), 1, oddPieces, {}});
        cases.push_back({p + "k above M", walkRules(16, 0.5, 5, fifo), 3, oddPieces, {}});
        cases.push_back({p + "M 64, k 32, C 7", walkRules(7, 0.2, 32, fifo), 64, oddPieces, {}});
        cases.push_back({p + "M 100, k 32, C 200", walkRules(200, 0.5, 32, fifo), 100, oddPieces, {}});
    }
    for (WalkCase& c : cases)
        if (c.scores.empty())
            c.scores = fill(total(c.pieces), [&](int64_t) { return uni(rng); });
    return cases;
}

/// A device walk (or its host emulation) of one piece: state words in (packPoolState),
/// slot banks (S * M) and the record (layout.length() words) out; sources non-null: with
/// compact notes, filled with the walk's note sources (G * k).
using DeviceWalker = std::function<void(const std::vector<int64_t>& stateIn, const float* scores, int64_t T, int64_t start,
                                        const engine::PoolRules& rules, int64_t poolSlots, int64_t carriedBase,
                                        int64_t notesBase, std::vector<int64_t>& slotBank, std::vector<int64_t>& record,
                                        std::vector<int64_t>* sources)>;

inline bool sameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// engine/train/batched_forward.cpp's host walk of one row of T scores cut into segments
/// at the chunk boundaries in starts (each segment walked alone from an empty pool): the
/// bank row of every (chunk, slot), base added (-1 empty), and the insertions counted.
inline std::vector<int64_t> segmentedReference(const float* scores, int64_t T, const std::vector<int64_t>& starts,
                                               const engine::PoolRules& rules, int64_t poolSlots, int64_t base,
                                               int64_t& inserted)
{
    const int64_t C = rules.chunk, M = poolSlots, G = (T + C - 1) / C;
    std::vector<int64_t> cuts{0};
    cuts.insert(cuts.end(), starts.begin(), starts.end());
    cuts.push_back(T);
    std::vector<int64_t> index(G * M, -1);
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
        const int64_t s0 = cuts[i], s1 = cuts[i + 1];
        engine::PoolMeta meta(M);
        const engine::PoolWalk walk = engine::walkPool(meta, rules, 0, scores + s0, s1 - s0);
        inserted += static_cast<int64_t>(walk.insertions.size());
        const int64_t g0 = s0 / C, gs = (s1 - s0 + C - 1) / C;
        for (int64_t j = 0; j < gs * M; ++j)
            index[g0 * M + j] = walk.slot_bank[j] < 0 ? -1 : base + s0 + walk.slot_bank[j];
    }
    return index;
}

/// "" when the reference and the device walk agree on every piece (slot banks, insertions,
/// the pool after it and its candidates in order, bank rows included), else the first
/// difference. compact: the walk numbers its notes compactly; its bank rows are mapped
/// through its note sources to the reference's (one row per score) before comparing.
inline std::string compareWalks(const WalkCase& c, const DeviceWalker& walker, bool compact = false)
{
    engine::PoolMeta ref(c.poolSlots), dev(c.poolSlots);
    int64_t start = 0;
    for (size_t p = 0; p < c.pieces.size(); ++p) {
        const int64_t T = c.pieces[p];
        const std::string at = c.name + ", piece " + std::to_string(p) + " at " + std::to_string(start) + ": ";
        const auto layout = kernels::pool::recordLayout(c.poolSlots, c.rules.per_chunk, start, T, c.rules.chunk);
        std::vector<int64_t> state(layout.stateLength()), slotBank, record;
        engine::packPoolState(dev, layout, state.data());
        const int64_t carried = static_cast<int64_t>(dev.candidates.size());
        const int64_t notesBase = c.poolSlots + carried;
        std::vector<int64_t> sources;
        walker(state, c.scores.data() + start, T, start, c.rules, c.poolSlots, c.poolSlots, notesBase, slotBank, record,
               compact ? &sources : nullptr);
        const engine::PoolWalk walk = engine::walkPool(ref, c.rules, start, c.scores.data() + start, T);
        std::vector<engine::PoolInsertion> insertions;
        engine::unpackPoolRecord(record.data(), layout, dev, &insertions);
        bool unmapped = false;
        auto toReference = [&](int64_t& bank) {
            if (!compact || bank < notesBase)
                return;
            const int64_t row = bank - notesBase;
            if (row >= static_cast<int64_t>(sources.size()) || sources[row] < 0)
                unmapped = true;
            else
                bank = notesBase + sources[row];
        };
        for (int64_t& b : slotBank)
            toReference(b);
        for (engine::NoteCandidate& cand : dev.candidates)
            toReference(cand.bank);
        if (unmapped)
            return at + "a slot or candidate refers to an unused compact note row";
        if (slotBank != walk.slot_bank)
            return at + "slot banks differ (" + std::to_string(slotBank.size()) + " vs " +
                   std::to_string(walk.slot_bank.size()) + " entries)";
        if (insertions.size() != walk.insertions.size())
            return at + std::to_string(insertions.size()) + " insertions, reference " +
                   std::to_string(walk.insertions.size());
        for (size_t i = 0; i < insertions.size(); ++i) {
            const engine::PoolInsertion &a = insertions[i], &b = walk.insertions[i];
            if (a.position != b.position || !sameBits(a.score, b.score) || a.slot != b.slot ||
                a.evicted_position != b.evicted_position)
                return at + "insertion " + std::to_string(i) + " differs";
        }
        if (dev.position != ref.position || dev.fill != ref.fill)
            return at + "pool positions or fill differ";
        for (int64_t i = 0; i < c.poolSlots; ++i)
            if (!sameBits(dev.priority[i], ref.priority[i]))
                return at + "priority of slot " + std::to_string(i) + " differs";
        if (dev.candidates.size() != ref.candidates.size())
            return at + "candidate counts differ";
        for (size_t j = 0; j < dev.candidates.size(); ++j) {
            const engine::NoteCandidate &a = dev.candidates[j], &b = ref.candidates[j];
            if (a.position != b.position || !sameBits(a.priority, b.priority) || a.bank != b.bank)
                return at + "candidate " + std::to_string(j) + " differs";
        }
        start += T;
    }
    return "";
}

}  // namespace mm::test
