// The note pool walk on the GPU (kernels/pool_walk.cu through engine/pool_walk_device.h)
// against the reference walkPool, bit for bit: the random and adversarial score patterns
// of pool_walk_cases.h piece after piece (inference), many rows from empty pools (the
// batched training variant); then whole reads and training forwards with the device walk
// against the same with MEMMAMBA_POOL_WALK=cpu: identical note events, pools and saved
// states. Also the rest of the reading path's CUDA work for issue 19: fused pool
// attention, summaries only for candidates, the convolution kernel, each against its
// reference. Label gpu: exits 77 (ctest: skipped) without a CUDA build or device.
#include "engine_test_util.h"
#include "pool_walk_cases.h"

#include "engine/conv_cuda.h"
#include "engine/pool_attention_cuda.h"
#include "engine/pool_walk_device.h"
#include "engine/train/batched_forward.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#if defined(MEMMAMBA_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/core/GradMode.h>
#include <cuda_runtime.h>
#endif

using namespace mm;
using namespace mm::engine;

namespace {

bool gpuPresent()
{
#if defined(MEMMAMBA_WITH_CUDA)
    return at::hasCUDA();
#else
    return false;
#endif
}

#if defined(MEMMAMBA_WITH_CUDA)

const auto kLongCuda = at::TensorOptions().dtype(at::kLong).device(at::kCUDA);

std::vector<int64_t> toVector(const at::Tensor& t)
{
    const at::Tensor c = t.to(at::kCPU).contiguous();
    return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

void deviceWalk(const std::vector<int64_t>& stateIn, const float* scores, int64_t T, int64_t start, const PoolRules& rules,
                int64_t poolSlots, int64_t carriedBase, int64_t notesBase, std::vector<int64_t>& slotBank,
                std::vector<int64_t>& record, std::vector<int64_t>* sources)
{
    const auto layout = walkRecordLayout(rules, poolSlots, start, T);
    const at::Tensor s = at::from_blob(const_cast<float*>(scores), {1, T}, at::kFloat).to(at::kCUDA);
    const at::Tensor state = at::tensor(stateIn, at::kLong).view({1, -1}).to(at::kCUDA);
    const at::Tensor records = at::full({1, layout.length()}, -7, kLongCuda);  // poison: every read word is written
    const DeviceWalk w =
        walkPoolsOnDevice(s, rules, poolSlots, start, state, carriedBase, notesBase, 0, records, sources != nullptr);
    slotBank = toVector(w.slotBank);
    record = toVector(records);
    if (sources)
        *sources = toVector(w.noteSources);
}

/// A model whose every weight is perturbed (the notes change the outputs), on the GPU.
std::unique_ptr<mm::Model> cudaModel(const std::string& config, uint64_t seed)
{
    auto model = test::perturbedModel(config, seed);
    engine::Model& m = model->impl();
    m.options = m.options.device(at::kCUDA);
    forEachParameter(m.weights, m.config, [&](const std::string&, at::Tensor& t) { t = t.to(m.options); });
    return model;
}

struct ScopedEnv {  // an engine switch set while alive
    ScopedEnv(const char* name, const char* value) : m_name(name) { setenv(name, value, 1); }
    ~ScopedEnv() { unsetenv(m_name); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* m_name;
};

bool sameEvent(const NoteEvent& x, const NoteEvent& y)
{
    return x.layer == y.layer && x.position == y.position && test::sameBits(x.score, y.score) && x.slot == y.slot &&
           x.evictedPosition == y.evictedPosition;
}

ReadResult readAll(const mm::Model& model, State& state, const std::vector<int32_t>& tokens, int64_t segment)
{
    ReadOptions opt;
    opt.segmentTokens = segment;
    opt.noteSummaries = true;
    return model.read(state, tokens, opt);
}

/// The same tokens read by a fresh state of a fresh model twice: as the engine does by
/// default, then with an engine switch set.
std::pair<ReadResult, ReadResult> readBothWays(uint64_t seed, int64_t tokens, int64_t segment, const char* name,
                                               const char* value)
{
    const auto model = cudaModel(test::smallConfig(), seed);
    const std::vector<int32_t> ids = test::randomTokens(tokens, 64, seed + 1);
    State first = model->newState(), second = model->newState();
    std::pair<ReadResult, ReadResult> out;
    out.first = readAll(*model, first, ids, segment);
    const ScopedEnv env(name, value);
    out.second = readAll(*model, second, ids, segment);
    return out;
}

/// Largest |a - b| over the surprisal of tokens 1.. (all must be finite).
double surprisalDifference(const ReadResult& a, const ReadResult& b)
{
    double worst = a.surprisal.size() == b.surprisal.size() ? 0 : 1e30;
    for (size_t i = 1; i < a.surprisal.size() && i < b.surprisal.size(); ++i)
        worst = std::isfinite(a.surprisal[i]) ? std::max(worst, double(std::abs(a.surprisal[i] - b.surprisal[i]))) : 1e30;
    return worst;
}

#endif

}  // namespace

class TestPoolWalkGpu : public QObject {
    Q_OBJECT

#if defined(MEMMAMBA_WITH_CUDA)
private slots:
    void inferencePiecesMatchReference()
    {
        for (const bool compact : {false, true})
            for (const test::WalkCase& c : test::walkCases()) {
                const std::string diff = test::compareWalks(c, deviceWalk, compact);
                QVERIFY2(diff.empty(), ((compact ? "compact notes: " : "") + diff).c_str());
            }
    }

    // The training variant: rows from empty pools at position 0, one bank over all rows.
    void batchedRowsMatchReference()
    {
        for (const bool fifo : {false, true})
            for (const int64_t T : {1000, 1024, 37}) {
                const PoolRules rules = test::walkRules(128, 0.5, 8, fifo);
                const int64_t rows = 7, M = 50;
                const at::Tensor scores = at::rand({rows, T}, at::TensorOptions().dtype(at::kFloat));
                scores[3].fill_(0.75f);                                   // ties everywhere
                scores[4].copy_(at::arange(T, at::kFloat) / float(T));    // ascending
                const auto layout = walkRecordLayout(rules, M, 0, T);
                const at::Tensor records = at::full({rows, layout.length()}, -7, kLongCuda);
                const DeviceWalk w =
                    walkPoolsOnDevice(scores.to(at::kCUDA), rules, M, 0, {}, M, M, M + T, records);
                const std::vector<int64_t> bank = toVector(w.slotBank), rec = toVector(records);
                for (int64_t b = 0; b < rows; ++b) {
                    PoolMeta ref(M), dev(0);
                    const PoolWalk walk = walkPool(ref, rules, 0, scores[b].data_ptr<float>(), T);
                    QCOMPARE(w.snapshots, walk.snapshots);
                    for (int64_t i = 0; i < walk.snapshots * M; ++i) {
                        const int64_t want = walk.slot_bank[i] < 0 ? -1 : b * (M + T) + walk.slot_bank[i];
                        QCOMPARE(bank[b * walk.snapshots * M + i], want);
                    }
                    std::vector<PoolInsertion> insertions;
                    unpackPoolRecord(rec.data() + b * layout.length(), layout, dev, &insertions);
                    QCOMPARE(insertions.size(), walk.insertions.size());
                    for (size_t i = 0; i < insertions.size(); ++i) {
                        QCOMPARE(insertions[i].position, walk.insertions[i].position);
                        QVERIFY(test::sameBits(insertions[i].score, walk.insertions[i].score));
                        QCOMPARE(insertions[i].slot, walk.insertions[i].slot);
                        QCOMPARE(insertions[i].evicted_position, walk.insertions[i].evicted_position);
                    }
                    QCOMPARE(dev.position, ref.position);
                    QCOMPARE(dev.fill, ref.fill);
                    QCOMPARE(dev.candidates.size(), ref.candidates.size());
                }
            }
    }

    // Training rows packed with samples: pools emptied where a segment starts, against
    // batched_forward's host walk of each segment alone.
    void segmentedRowsMatchReference()
    {
        for (const bool fifo : {false, true}) {
            const PoolRules rules = test::walkRules(128, 0.5, 8, fifo);
            const int64_t rows = 6, T = 1000, M = 50, C = 128, G = (T + C - 1) / C;
            const at::Tensor scores = at::rand({rows, T}, at::TensorOptions().dtype(at::kFloat));
            std::vector<std::vector<int64_t>> starts(rows);
            std::vector<uint8_t> empty(rows * G, 0);
            for (int64_t b = 0; b < rows; ++b)
                for (int64_t g = 1; g < G; ++g)
                    if ((b + g) % (b + 2) == 0) {
                        starts[b].push_back(g * C);
                        empty[b * G + g] = 1;
                    }
            const auto layout = walkRecordLayout(rules, M, 0, T);
            const at::Tensor records = at::full({rows, layout.length()}, -7, kLongCuda);
            const at::Tensor emptyBefore = at::tensor(empty, at::kByte).view({rows, G}).to(at::kCUDA);
            const DeviceWalk w =
                walkPoolsOnDevice(scores.to(at::kCUDA), rules, M, 0, {}, M, M, M + T, records, false, emptyBefore);
            const std::vector<int64_t> bank = toVector(w.slotBank.narrow(1, 0, G)), rec = toVector(records);
            for (int64_t b = 0; b < rows; ++b) {
                int64_t inserted = 0;
                const std::vector<int64_t> want =
                    test::segmentedReference(scores[b].data_ptr<float>(), T, starts[b], rules, M, b * (M + T), inserted);
                QVERIFY2(std::equal(want.begin(), want.end(), bank.begin() + b * G * M), ("row " + std::to_string(b)).c_str());
                QCOMPARE(rec[b * layout.length() + layout.insCount()], inserted);
            }
        }
    }

    // Whole reads: segments that cut note chunks, and single tokens. Note events, their
    // summaries, the importance and the saved state (pools, candidates, SSM) are identical
    // (notes computed for every token in both, as the host walk does).
    void readsMatchHostWalk()
    {
        const ScopedEnv allNotes("MEMMAMBA_NOTE_SUMMARIES", "all");
        for (const bool fifo : {false, true}) {
            const auto model = cudaModel(test::smallConfig(fifo ? R"(, "eviction": "fifo")" : ""), 11);
            const std::vector<int32_t> tokens = test::randomTokens(1500, 64, 12);
            for (const int64_t segment : {int64_t(700), int64_t(1)}) {
                const std::vector<int32_t> part(tokens.begin(), tokens.begin() + (segment == 1 ? 90 : 1500));
                State onDevice = model->newState(), onHost = model->newState();
                const ReadResult a = readAll(*model, onDevice, part, segment);
                ReadResult b;
                {
                    const ScopedEnv hostWalk("MEMMAMBA_POOL_WALK", "cpu");
                    b = readAll(*model, onHost, part, segment);
                }
                QVERIFY(!a.notes.empty());
                QCOMPARE(a.notes.size(), b.notes.size());
                for (size_t i = 0; i < a.notes.size(); ++i)
                    QVERIFY2(sameEvent(a.notes[i], b.notes[i]) && a.notes[i].summary == b.notes[i].summary,
                             ("note event " + std::to_string(i)).c_str());
                QVERIFY(a.importance == b.importance);
                QVERIFY(model->saveState(onDevice) == model->saveState(onHost));
                for (int32_t l = 0; l < 4; ++l) {
                    const auto pa = model->pool(onDevice, l), pb = model->pool(onHost, l);
                    QCOMPARE(pa.size(), pb.size());
                }
            }
        }
    }

    // Pool attention through the fused SDPA against the op-by-op reference (scores
    // materialised in fp32): surprisal and scores within rounding. The first chunk reads
    // empty pools (c = 0 in both), later ones partly filled and full pools.
    void fusedAttentionMatchesReference()
    {
        for (const char* other : {"reference", "sdpa"}) {  // our kernel (the default) against each
            const auto [a, b] = readBothWays(31, 1200, 500, "MEMMAMBA_POOL_ATTENTION", other);
            const double worst = surprisalDifference(a, b);
            qInfo("pool attention kernel vs %s: largest surprisal difference %.3g nats", other, worst);
            QVERIFY(worst < 1e-3);
            QVERIFY(test::relativeError(a.importance.back(), b.importance.back()) < 1e-4);
        }
    }

    // The pool attention kernel alone against the op-by-op softmax over the filled slots:
    // pieces starting inside a chunk, a last partial chunk, empty and full snapshots, the
    // token pool (50 slots) and the cross-layer one (200), head widths 16 and 64.
    void poolAttentionKernelMatchesOps()
    {
        const c10::AutoGradMode noGrad(false);
        const auto o = at::TensorOptions().dtype(at::kFloat).device(at::kCUDA);
        struct Shape { int64_t T, offset, M, H, dh; };
        for (const Shape s : {Shape{1000, 37, 50, 4, 16}, Shape{1, 5, 50, 4, 16}, Shape{300, 0, 200, 4, 16},
                              Shape{257, 127, 50, 2, 64}}) {
            const int64_t C = 128, r = s.H * s.dh, G = (s.offset + s.T + C - 1) / C;
            const at::Tensor q = at::randn({s.T, 2 * r}, o).narrow(1, 0, r);  // rows strided
            const at::Tensor k = at::randn({G, s.M, r}, o), v = at::randn({G, s.M, r}, o);
            at::Tensor mask = at::rand({G, s.M}, o) < 0.6;
            mask[0].fill_(false);  // the first group reads an empty pool
            if (G > 2)
                mask[G - 1].fill_(true);
            QVERIFY(poolAttentionKernelApplies(q, s.M, s.dh));
            const at::Tensor got = poolAttentionCuda(q, k, v, mask, s.offset, C, s.H).cpu();
            const at::Tensor qc = q.cpu(), kc = k.cpu(), vc = v.cpu(), mc = mask.cpu();
            at::Tensor want = at::zeros({s.T, r});
            for (int64_t i = 0; i < s.T; ++i) {
                const int64_t g = (s.offset + i) / C;
                const at::Tensor on = mc[g].nonzero().view({-1});
                if (on.numel() == 0)
                    continue;
                for (int64_t h = 0; h < s.H; ++h) {
                    const at::Tensor qh = qc[i].narrow(0, h * s.dh, s.dh);
                    const at::Tensor kh = kc[g].index_select(0, on).narrow(1, h * s.dh, s.dh);
                    const at::Tensor vh = vc[g].index_select(0, on).narrow(1, h * s.dh, s.dh);
                    const at::Tensor p = at::softmax(at::matmul(kh, qh) / std::sqrt(double(s.dh)), 0);
                    want[i].narrow(0, h * s.dh, s.dh).copy_(at::matmul(p, vh));
                }
            }
            const double err = test::relativeError(got, want);
            QVERIFY2(err < 1e-5, ("T " + std::to_string(s.T) + ": relative error " + std::to_string(err)).c_str());
            QVERIFY(at::equal(got.narrow(0, 0, std::min<int64_t>(s.T, C - s.offset)), at::zeros({std::min<int64_t>(s.T, C - s.offset), r})));
        }
    }

    // Summaries only for the candidates (the default) against summaries for every token:
    // layer 0's notes (whose scores no summary influences) identical, their values and the
    // surprisal within rounding.
    void compactSummariesMatchAll()
    {
        const auto [a, b] = readBothWays(41, 1500, 700, "MEMMAMBA_NOTE_SUMMARIES", "all");
        std::vector<const NoteEvent*> a0, b0;
        for (const NoteEvent& e : a.notes)
            if (e.layer == 0)
                a0.push_back(&e);
        for (const NoteEvent& e : b.notes)
            if (e.layer == 0)
                b0.push_back(&e);
        QVERIFY(!a0.empty());
        QCOMPARE(a0.size(), b0.size());
        for (size_t i = 0; i < a0.size(); ++i) {
            QVERIFY(sameEvent(*a0[i], *b0[i]));
            QVERIFY2(test::relativeError(a0[i]->summary, b0[i]->summary) < 1e-5, ("layer-0 note " + std::to_string(i)).c_str());
        }
        const double worst = surprisalDifference(a, b);
        qInfo("compact vs all summaries: %zu vs %zu notes, largest surprisal difference %.3g nats", a.notes.size(),
              b.notes.size(), worst);
        QVERIFY(worst < 1e-3);
    }

    void trainingForwardMatchesHostWalk()
    {
        const auto model = cudaModel(test::smallConfig(), 21);
        const engine::Model& m = model->impl();
        const at::Tensor tokens = at::randint(0, 64, {6, 200}, at::TensorOptions().dtype(at::kLong)).to(at::kCUDA);
        const c10::AutoGradMode noGrad(false);
        const train::BatchOutput a = train::forwardBatch(m, tokens);
        train::BatchOutput b;
        {
            const ScopedEnv hostWalk("MEMMAMBA_POOL_WALK", "cpu");
            b = train::forwardBatch(m, tokens);
        }
        QVERIFY(a.notesWritten > 0);
        QCOMPARE(a.notesWritten, b.notesWritten);
        QCOMPARE(a.chunksClosed, b.chunksClosed);
        QVERIFY(at::equal(a.hidden.cpu(), b.hidden.cpu()));
        // Rows packed with samples (segments from empty pools) too.
        train::BatchOptions packed;
        packed.segmentStarts = {{64}, {}, {32, 128}, {16}, {}, {48}};
        const train::BatchOutput c = train::forwardBatch(m, tokens, packed);
        train::BatchOutput d;
        {
            const ScopedEnv hostWalk("MEMMAMBA_POOL_WALK", "cpu");
            d = train::forwardBatch(m, tokens, packed);
        }
        QCOMPARE(c.notesWritten, d.notesWritten);
        QCOMPARE(c.chunksClosed, d.chunksClosed);
        QVERIFY(at::equal(c.hidden.cpu(), d.hidden.cpu()));
    }

    // The mixer's convolution kernel (kernels/conv_silu.cu) against the op-by-op form of
    // engine/model.cpp: x a strided view as in the model, pieces shorter than the window,
    // widths 1 to 5; outputs and the carried state.
    void convKernelMatchesOps()
    {
        const c10::AutoGradMode noGrad(false);
        const auto o = at::TensorOptions().dtype(at::kFloat).device(at::kCUDA);
        for (const int64_t K : {4, 1, 2, 5})
            for (const int64_t T : {1, 2, 3, 100, 70001}) {
                const int64_t E = 130;
                const at::Tensor x = at::randn({T, 2 * E}, o).narrow(1, 0, E);  // rows strided, as in_proj's x half
                const at::Tensor weight = at::randn({E, 1, K}, o), bias = at::randn({E}, o);
                const at::Tensor state0 = at::randn({K - 1, E}, o);
                QVERIFY(convSiluApplies(x, K));
                at::Tensor state = state0.clone();
                const at::Tensor got = convSiluCuda(x, state, weight, bias);
                const at::Tensor xpad = at::cat({state0, x}, 0);
                at::Tensor want = bias.expand({T, E}).clone();
                for (int64_t k = 0; k < K; ++k)
                    want.addcmul_(xpad.narrow(0, k, T), weight.view({E, K}).select(1, k).unsqueeze(0));
                want = at::silu(want);
                const double err = test::relativeError(got.cpu(), want.cpu());
                QVERIFY2(err < 1e-5, ("K " + std::to_string(K) + ", T " + std::to_string(T)).c_str());
                QVERIFY(at::equal(state.cpu(), xpad.narrow(0, T, K - 1).cpu()));
            }
    }

    // Small cases of every kernel for compute-sanitizer (tst_pool_walk_gpu_memcheck).
    void sanitizerCase()
    {
        const auto cases = test::walkCases();
        for (const test::WalkCase& c : {cases[1], cases[2], cases[cases.size() - 1]}) {  // odd pieces, single tokens, M 100
            const std::string diff = test::compareWalks(c, deviceWalk, true);
            QVERIFY2(diff.empty(), diff.c_str());
        }
        segmentedRowsMatchReference();
        const c10::AutoGradMode noGrad(false);  // the convolution kernel serves reading only
        const auto o = at::TensorOptions().dtype(at::kFloat).device(at::kCUDA);
        at::Tensor state = at::randn({3, 40}, o);
        const at::Tensor xc = convSiluCuda(at::randn({50, 80}, o).narrow(1, 0, 40), state, at::randn({40, 1, 4}, o),
                                           at::randn({40}, o));
        QVERIFY(xc.isfinite().all().item<bool>());
    }

    // Timing only: one layer's walk of a 64k segment, the default rules (docs/perf.md).
    void walkTimings()
    {
        const PoolRules rules = test::walkRules(128, 0.5, 8, false);
        const int64_t M = 50;
        for (const int64_t T : {int64_t(65536), int64_t(1) << 20}) {
            const at::Tensor scores = at::rand({1, T}, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA));
            const auto layout = walkRecordLayout(rules, M, 0, T);
            const at::Tensor records = at::empty({1, layout.length()}, kLongCuda);
            auto run = [&] { walkPoolsOnDevice(scores, rules, M, 0, {}, M, M, M, records); };
            run();
            cudaEvent_t start, stop;
            cudaEventCreate(&start), cudaEventCreate(&stop);
            cudaEventRecord(start, at::cuda::getCurrentCUDAStream());
            for (int i = 0; i < 5; ++i)
                run();
            cudaEventRecord(stop, at::cuda::getCurrentCUDAStream());
            cudaEventSynchronize(stop);
            float ms = 0;
            cudaEventElapsedTime(&ms, start, stop);
            cudaEventDestroy(start), cudaEventDestroy(stop);
            qInfo("TIMING pool walk T=%lld M=%lld k=%lld C=%lld: %.3f ms", (long long)T, (long long)M,
                  (long long)rules.per_chunk, (long long)rules.chunk, ms / 5);
        }
    }
#endif
};

int main(int argc, char** argv)
{
    if (!gpuPresent()) {
        std::printf("tst_pool_walk_gpu: no CUDA build or device, skipped\n");
        return 77;  // SKIP_RETURN_CODE in tests/engine/CMakeLists.txt
    }
    TestPoolWalkGpu t;
    return QTest::qExec(&t, argc, argv);
}

#include "tst_pool_walk_gpu.moc"
