// The engine hooks `memmamba eval` relies on: ReadOptions::noPool / GenerateOptions::noPool
// (the note pools emptied at every step, the rest of the model unchanged) and
// ReadOptions::layerOutputs (the residual stream after each block).
//
// A random model's pool outputs W_o start at zero, so the notes add nothing and the
// ablation would pass vacuously: here W_o is set to random values, so the pools matter.
// With the pools emptied at every step that model must then read exactly like the same
// model with W_o = 0 (an empty pool reads c = 0; W_o 0 = 0), and differ without the ablation.
#include "engine/engine.h"
#include "engine/model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <QtTest>

#include <cmath>
#include <random>

namespace {

const char* kTinyConfig = R"({"d_model": 32, "n_layer": 4, "pool_slots": 4, "note_dim": 8, "note_chunk": 16,
                              "notes_per_chunk": 2, "attn_heads": 2, "cross_layer_period": 2})";

std::vector<int32_t> randomTokens(int n, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::vector<int32_t> t(n);
    for (auto& x : t)
        x = static_cast<int32_t>(7 + rng() % 8000);
    return t;
}

double maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b)
{
    if (a.size() != b.size())
        return INFINITY;
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i]) != std::isnan(b[i]))
            return INFINITY;
        if (!std::isnan(a[i]))
            m = std::max(m, std::abs(double(a[i]) - b[i]));
    }
    return m;
}

}  // namespace

class EvalNoPoolTest : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<mm::Model> withNotes;  // W_o random: the pools feed the stream
    std::unique_ptr<mm::Model> zeroOut;    // the same weights with W_o = 0

private slots:
    void initTestCase()
    {
        withNotes = mm::Model::createRandom(kTinyConfig, 3, "cpu");
        zeroOut = mm::Model::createRandom(kTinyConfig, 3, "cpu");
        at::Generator gen = at::detail::createCPUGenerator(11);
        auto& m = withNotes->impl();
        for (int64_t l = 0; l < m.config.n_layer; ++l) {
            auto& n = m.weights.layers[l].note;
            n.tok.out = at::empty(n.tok.out.sizes(), n.tok.out.options()).normal_(0, 0.5, gen);
            if (n.lay.out.defined())
                n.lay.out = at::empty(n.lay.out.sizes(), n.lay.out.options()).normal_(0, 0.5, gen);
        }
    }

    void poolsMatterWithoutTheAblation()
    {
        const auto tokens = randomTokens(400, 1);
        mm::State a = withNotes->newState(), b = zeroOut->newState();
        const mm::ReadResult ra = withNotes->read(a, tokens), rb = zeroOut->read(b, tokens);
        QVERIFY(!ra.notes.empty());                             // notes were written
        QVERIFY(maxAbsDiff(ra.surprisal, rb.surprisal) > 1e-3);  // and read back: the figures move
        int64_t fill = 0;
        for (const auto& ls : a.impl().layers)
            fill += ls.pool.fill;
        QVERIFY(fill > 0);
    }

    void ablationReadsLikeZeroPoolOutputs()
    {
        const auto tokens = randomTokens(400, 2);
        mm::ReadOptions ablate;
        ablate.noPool = true;
        for (int64_t segment : {1024, 37}) {  // one pass, or pieces not aligned to note chunks
            ablate.segmentTokens = segment;
            mm::State a = withNotes->newState(), b = zeroOut->newState();
            const mm::ReadResult ra = withNotes->read(a, tokens, ablate);
            const mm::ReadResult rb = zeroOut->read(b, tokens);
            QVERIFY2(maxAbsDiff(ra.surprisal, rb.surprisal) < 1e-4, "the ablation must equal W_o = 0");
            QVERIFY(ra.notes.empty());        // nothing is kept
            QCOMPARE(ra.importance.size(), size_t(4));  // the scorer still runs
            QCOMPARE(ra.importance[0].size(), tokens.size());
            for (const auto& ls : a.impl().layers) {
                QCOMPARE(ls.pool.fill, int64_t(0));
                QVERIFY(ls.pool.candidates.empty());
            }
        }
    }

    void ablationAfterANormalPrefixEmptiesThePools()
    {
        const auto tokens = randomTokens(300, 3);
        mm::State a = withNotes->newState();
        withNotes->read(a, std::vector<int32_t>(tokens.begin(), tokens.begin() + 200));
        mm::ReadOptions ablate;
        ablate.noPool = true;
        withNotes->read(a, std::vector<int32_t>(tokens.begin() + 200, tokens.end()), ablate);
        for (const auto& ls : a.impl().layers)
            QCOMPARE(ls.pool.fill, int64_t(0));
    }

    void generationAblation()
    {
        const auto prompt = randomTokens(100, 4);
        mm::ReadOptions ablate;
        ablate.noPool = true;
        mm::State a = withNotes->newState(), b = zeroOut->newState(), c = withNotes->newState();
        withNotes->read(a, prompt, ablate);
        zeroOut->read(b, prompt);
        withNotes->read(c, prompt);
        mm::GenerateOptions g;
        g.maxTokens = 24;
        mm::GenerateOptions gAblate = g;
        gAblate.noPool = true;
        const auto ga = withNotes->generate(a, gAblate), gb = zeroOut->generate(b, g), gc = withNotes->generate(c, g);
        QCOMPARE(ga.tokens, gb.tokens);
        QCOMPARE(ga.tokens.size(), size_t(24));
        for (const auto& ls : a.impl().layers)
            QCOMPARE(ls.pool.fill, int64_t(0));
        Q_UNUSED(gc);
    }

    void layerOutputs()
    {
        const auto tokens = randomTokens(150, 5);
        mm::ReadOptions o;
        o.layerOutputs = true;
        mm::State a = withNotes->newState();
        const mm::ReadResult r = withNotes->read(a, tokens, o);
        QCOMPARE(r.layerOutputs.size(), size_t(4));
        for (const auto& l : r.layerOutputs)
            QCOMPARE(l.size(), tokens.size() * 32);
        // Independent of the segmentation (as every read result is).
        o.segmentTokens = 40;
        mm::State b = withNotes->newState();
        const mm::ReadResult r2 = withNotes->read(b, tokens, o);
        for (size_t l = 0; l < 4; ++l)
            QVERIFY(maxAbsDiff(r.layerOutputs[l], r2.layerOutputs[l]) < 1e-3);
        // The last block's output, final-normed, is what the LM head reads: check one token.
        const auto& m = withNotes->impl();
        const at::Tensor x = at::from_blob(const_cast<float*>(r.layerOutputs[3].data()), {150, 32}).clone();
        const at::Tensor h = mm::engine::rmsNorm(x, m.weights.norm_f, m.config.norm_eps);
        const at::Tensor nll = -at::log_softmax(mm::engine::lmHead(m, h[9].unsqueeze(0)), 1)[0][tokens[10]];
        QVERIFY(std::abs(nll.item<float>() - r.surprisal[10]) < 1e-3);
        // Off by default: nothing is filled.
        mm::State c = withNotes->newState();
        QVERIFY(withNotes->read(c, tokens).layerOutputs.empty());
    }
};

QTEST_GUILESS_MAIN(EvalNoPoolTest)
#include "tst_eval_nopool.moc"
