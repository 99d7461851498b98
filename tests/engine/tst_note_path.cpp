// The Note Block's GPU path, what of it runs without a GPU: the device pool walk's rules
// (kernels/pool_walk_core.h), run on the host exactly as the two kernels of
// kernels/pool_walk.cu run them, against the reference walkPool, bit for bit; the record
// packing; and the per-stage profile of a read (engine/stage_profile.h) on the CPU.
#include "engine_test_util.h"
#include "pool_walk_cases.h"

#include "engine/stage_profile.h"

#include <QtTest>

#include <algorithm>
#include <chrono>

using namespace mm;
using namespace mm::engine;

namespace {

// kernels/pool_walk.cu with its threads as loops: selectKernel per chunk, then
// mergeKernel's lane 0 and its snapshot writes.
void emulateWalk(const std::vector<int64_t>& stateIn, const float* scores, int64_t T, int64_t start,
                 const PoolRules& rules, int64_t poolSlots, int64_t carriedBase, int64_t notesBase,
                 std::vector<int64_t>& slotBank, std::vector<int64_t>& record, std::vector<int64_t>* sources,
                 const std::vector<uint8_t>* emptyBefore)
{
    using namespace kernels::pool;
    const Chunks ch = chunksOf(start, T, rules.chunk);
    const RecordLayout lay = recordLayout(poolSlots, rules.per_chunk, start, T, rules.chunk);
    const int k = static_cast<int>(rules.per_chunk), M = static_cast<int>(poolSlots);
    const bool fifo = rules.eviction == EvictionPolicy::Fifo;
    std::vector<Cand> cands(ch.count * k);
    std::vector<int> counts(ch.count);
    if (sources)
        sources->assign(ch.count * k, -1);
    for (int64_t g = 0; g < ch.count; ++g) {
        Cand local[kMaxPerChunk];
        int n = 0;
        if (g == 0)
            for (int64_t i = 0; i < stateIn[lay.candCount()] && i < k; ++i)
                local[n++] = Cand{stateIn[lay.candPos() + i], bitsFloat(stateIn[lay.candPri() + i]), carriedBase + i};
        int64_t from = 0, to = 0;
        chunkRange(ch, g, rules.chunk, T, from, to);
        n = selectChunk(scores, from, to, start, notesBase, rules.threshold, k, local, n,
                        sources ? notesBase + g * k : -1);
        if (sources)
            compactSources(local, n, k, start, sources->data() + g * k);
        if (g < ch.closed)
            sortForMerge(local, n, fifo);
        std::copy(local, local + n, cands.begin() + g * k);
        counts[g] = n;
    }
    std::vector<int64_t> position(M), bank(M);
    std::vector<float> priority(M);
    slotBank.assign((ch.closed + 1) * M, 0);
    record.assign(lay.length(), 0);
    for (int i = 0; i < M; ++i) {
        position[i] = stateIn[lay.position() + i];
        priority[i] = bitsFloat(stateIn[lay.priority() + i]);
        bank[i] = position[i] >= 0 ? i : -1;
        slotBank[i] = bank[i];
    }
    PoolView view;
    initView(view, position.data(), priority.data(), bank.data(), M, stateIn[lay.fill()]);
    int64_t inserted = 0;
    for (int64_t g = 0; g < ch.closed; ++g) {
        inserted += mergeSorted(view, cands.data() + g * k, counts[g], fifo, record.data() + lay.insertions() + 4 * inserted);
        if (emptyBefore && g + 1 < ch.count && (*emptyBefore)[g + 1])
            emptyPool(view);
        std::copy(bank.begin(), bank.end(), slotBank.begin() + (g + 1) * M);
    }
    record[lay.fill()] = view.fill;
    record[lay.insCount()] = inserted;
    const int n = ch.count > ch.closed ? counts[ch.count - 1] : 0;
    record[lay.candCount()] = n;
    for (int i = 0; i < k; ++i) {
        const Cand& c = cands[(ch.count - 1) * k + i];
        record[lay.candPos() + i] = i < n ? c.pos : -1;
        record[lay.candPri() + i] = i < n ? floatBits(c.pri) : 0;
        record[lay.candBank() + i] = i < n ? c.bank : 0;
    }
    for (int i = 0; i < M; ++i) {
        record[lay.position() + i] = position[i];
        record[lay.priority() + i] = floatBits(priority[i]);
    }
}

void emulateDeviceWalk(const std::vector<int64_t>& stateIn, const float* scores, int64_t T, int64_t start,
                       const PoolRules& rules, int64_t poolSlots, int64_t carriedBase, int64_t notesBase,
                       std::vector<int64_t>& slotBank, std::vector<int64_t>& record, std::vector<int64_t>* sources)
{
    emulateWalk(stateIn, scores, T, start, rules, poolSlots, carriedBase, notesBase, slotBank, record, sources, nullptr);
}

}  // namespace

class TestNotePath : public QObject {
    Q_OBJECT

private slots:
    void deviceWalkRulesMatchReference()
    {
        for (const bool compact : {false, true})
            for (const test::WalkCase& c : test::walkCases()) {
                const std::string diff = test::compareWalks(c, emulateDeviceWalk, compact);
                QVERIFY2(diff.empty(), ((compact ? "compact notes: " : "") + diff).c_str());
            }
    }

    // The comparison can fail: a walk that compares tau in float (as a careless kernel
    // would) is caught on the threshold-edge scores.
    void comparisonCatchesAFloatThreshold()
    {
        const auto cases = test::walkCases();
        const auto edge = std::find_if(cases.begin(), cases.end(),
                                       [](const test::WalkCase& c) { return c.name == "priority float tau edge"; });
        QVERIFY(edge != cases.end());
        test::DeviceWalker floatTau = [](const std::vector<int64_t>& s, const float* scores, int64_t T, int64_t start,
                                         const PoolRules& rules, int64_t poolSlots, int64_t cb, int64_t nb,
                                         std::vector<int64_t>& bank, std::vector<int64_t>& rec,
                                         std::vector<int64_t>* sources) {
            PoolRules r = rules;
            r.threshold = static_cast<double>(static_cast<float>(rules.threshold));
            emulateDeviceWalk(s, scores, T, start, r, poolSlots, cb, nb, bank, rec, sources);
        };
        QVERIFY(!test::compareWalks(*edge, floatTau).empty());
    }

    // Training rows packed with samples: the walk with its pool emptied where a segment
    // starts equals batched_forward's host walk of each segment alone.
    void segmentedRowsMatchPerSegmentWalks()
    {
        std::mt19937 rng(77);
        std::uniform_real_distribution<float> uni(0.0f, 1.0f);
        for (const bool fifo : {false, true})
            for (const int64_t T : {200, 256, 1000}) {
                const PoolRules rules = test::walkRules(16, 0.5, 3, fifo);
                const int64_t M = 6, C = 16, G = (T + C - 1) / C;
                std::vector<float> scores(T);
                for (float& v : scores)
                    v = uni(rng);
                std::vector<int64_t> starts;
                std::vector<uint8_t> emptyBefore(G, 0);
                for (int64_t g = 1; g < G; ++g)
                    if (rng() % 4 == 0 || g == G / 2) {
                        starts.push_back(g * C);
                        emptyBefore[g] = 1;
                    }
                int64_t want = 0;
                const std::vector<int64_t> reference = test::segmentedReference(scores.data(), T, starts, rules, M, 0, want);
                const auto layout = kernels::pool::recordLayout(M, rules.per_chunk, 0, T, C);
                std::vector<int64_t> state(layout.stateLength()), bank, record;
                packPoolState(PoolMeta(M), layout, state.data());
                emulateWalk(state, scores.data(), T, 0, rules, M, M, M, bank, record, nullptr, &emptyBefore);
                QVERIFY(!starts.empty());
                QVERIFY(std::equal(reference.begin(), reference.end(), bank.begin()));
                QCOMPARE(record[layout.insCount()], want);
            }
    }

    void recordRoundTrip()
    {
        PoolMeta meta(5);
        meta.position = {3, -1, 7, 9, -1};
        meta.priority = {0.75f, 0, -0.0f, 1.0f, 0};
        meta.fill = 3;
        meta.candidates = {{11, 0.9f, 57}, {12, 0.6f, 58}};
        const auto layout = kernels::pool::recordLayout(5, 4, 10, 300, 128);
        std::vector<int64_t> words(layout.length(), 0);
        packPoolState(meta, layout, words.data());
        words[layout.insCount()] = 1;
        const int64_t ins[4] = {40, kernels::pool::floatBits(0.8f), 1, -1};
        std::copy(ins, ins + 4, words.begin() + layout.insertions());
        PoolMeta back(0);
        std::vector<PoolInsertion> insertions;
        unpackPoolRecord(words.data(), layout, back, &insertions);
        QCOMPARE(back.position, meta.position);
        QVERIFY(test::sameBits(back.priority[2], -0.0f) && back.priority[3] == 1.0f);
        QCOMPARE(back.fill, int64_t(3));
        QCOMPARE(back.candidates.size(), size_t(2));
        QCOMPARE(back.candidates[1].position, int64_t(12));
        QCOMPARE(back.candidates[1].bank, int64_t(58));
        QCOMPARE(insertions.size(), size_t(1));
        QCOMPARE(insertions[0].position, int64_t(40));
        QCOMPARE(insertions[0].score, 0.8f);
        words[layout.candCount()] = 5;  // more than k: a corrupt record is refused
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, unpackPoolRecord(words.data(), layout, back, nullptr));
        meta.candidates.resize(5);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, packPoolState(meta, layout, words.data()));
    }

    // Every stage of a read is timed, each layer once per segment, and the stages add up
    // to the wall time of the profiled span.
    void profileCoversEveryStage()
    {
        auto model = mm::Model::createRandom(test::smallConfig(), 3, "cpu");
        const std::vector<int32_t> tokens = test::randomTokens(200, 64, 5);
        State state = model->newState();
        ReadOptions opt;
        opt.segmentTokens = 64;  // 4 segments
        const auto t0 = std::chrono::steady_clock::now();
        profileStart(false);
        model->read(state, tokens, opt);
        const std::vector<StageTime> stages = profileStop();
        const double wallMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        QCOMPARE(stages.size(), size_t(Stage::Count));
        double sum = 0;
        for (const StageTime& t : stages) {
            QVERIFY2(t.ms >= 0, t.stage.c_str());
            sum += t.ms;
        }
        QVERIFY(sum > 0 && sum <= wallMs);
        const int64_t layerSegments = 4 * 4;
        for (Stage s : {Stage::Conv, Stage::Scan, Stage::Score, Stage::Summaries, Stage::Walk, Stage::Gather,
                        Stage::Attention})
            QCOMPARE(stages[size_t(s)].intervals, layerSegments);
        QCOMPARE(stages[size_t(Stage::Head)].intervals, int64_t(4));  // once a segment
        QVERIFY(stages[size_t(Stage::Scan)].ms > 0 && stages[size_t(Stage::Attention)].ms > 0);
        QCOMPARE(stages[size_t(Stage::Scan)].stage, std::string("scan"));
        // Off again: a read without a profile adds no marks (the next profile starts empty).
        model->read(state, tokens, opt);
        profileStart(false);
        const std::vector<StageTime> empty = profileStop();
        QCOMPARE(empty[size_t(Stage::Walk)].intervals, int64_t(0));
    }
};

QTEST_GUILESS_MAIN(TestNotePath)
#include "tst_note_path.moc"
