// The engine through its public API (engine/engine.h), on small CPU models: equivalence of
// one pass, random pieces and token-by-token reading; causality; resume from saved bytes;
// pool invariants; safetensors and state-format errors; generation.
#include "engine_test_util.h"

#include "engine/cuda_precision.h"
#include "engine/engine.h"
#include "engine/model.h"

#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

using namespace mm;
using mm::test::relativeError;

namespace {

// Files through Qt, not std::filesystem: the pip LibTorch 2.x exports std::filesystem
// symbols of its own that crash when a test's calls resolve to them.
int64_t fileSize(const std::string& path)
{
    return QFileInfo(QString::fromStdString(path)).size();
}

std::string errorOf(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const EngineError& e) {
        return e.what();
    }
    return "(no error)";
}

// The kind of the LoadError fn throws; -1 when it throws none.
int loadErrorKindOf(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const LoadError& e) {
        return int(e.kind());
    }
    return -1;
}

std::vector<float> logitsRows(const std::vector<float>& logits, int64_t vocab, int64_t from, int64_t to)
{
    return std::vector<float>(logits.begin() + from * vocab, logits.begin() + to * vocab);
}

}  // namespace

class TestEngineModel : public QObject {
    Q_OBJECT

private:
    void checkEquivalence(const std::string& config)
    {
        auto model = test::perturbedModel(config, 7);
        const int64_t V = model->impl().config.vocab_size;
        const auto tokens = test::randomTokens(3000, static_cast<int32_t>(V), 11);
        ReadOptions opt;
        opt.logits = true;
        opt.segmentTokens = 4096;

        State onePass = model->newState();
        const ReadResult a = model->read(onePass, tokens, opt);
        QCOMPARE(a.tokensRead, int64_t(3000));
        QCOMPARE(int64_t(a.logits.size()), 3000 * V);

        // Random piece sizes (most end mid-chunk), and a small segment size inside reads.
        State pieces = model->newState();
        std::mt19937 rng(5);
        ReadResult b;
        ReadOptions pieceOpt = opt;
        pieceOpt.segmentTokens = 100;
        int midChunkEnds = 0;
        for (size_t done = 0; done < tokens.size();) {
            const size_t n = std::min<size_t>(tokens.size() - done, 1 + rng() % 250);
            const ReadResult r = model->read(pieces, {tokens.begin() + done, tokens.begin() + done + n}, pieceOpt);
            b.logits.insert(b.logits.end(), r.logits.begin(), r.logits.end());
            b.surprisal.insert(b.surprisal.end(), r.surprisal.begin(), r.surprisal.end());
            done += n;
            midChunkEnds += done % model->impl().config.note_chunk != 0;
        }
        QVERIFY(midChunkEnds > 5);

        State steps = model->newState();
        ReadResult c;
        for (int32_t t : tokens) {
            const ReadResult r = model->read(steps, {t}, opt);
            c.logits.insert(c.logits.end(), r.logits.begin(), r.logits.end());
        }

        const double errPieces = relativeError(a.logits, b.logits), errSteps = relativeError(a.logits, c.logits);
        qInfo("logits relative error: pieces %.3g, token by token %.3g", errPieces, errSteps);
        QVERIFY2(errPieces < 1e-4, qPrintable(QString::number(errPieces)));
        QVERIFY2(errSteps < 1e-4, qPrintable(QString::number(errSteps)));
        // Surprisal: NaN for the first token only, then equal.
        QVERIFY(std::isnan(a.surprisal[0]) && std::isnan(b.surprisal[0]));
        QVERIFY(relativeError(std::vector<float>(a.surprisal.begin() + 1, a.surprisal.end()),
                              std::vector<float>(b.surprisal.begin() + 1, b.surprisal.end())) < 1e-4);
        const double stPieces = test::stateDifference(onePass.impl(), pieces.impl());
        const double stSteps = test::stateDifference(onePass.impl(), steps.impl());
        qInfo("state relative difference: pieces %.3g, token by token %.3g", stPieces, stSteps);
        QVERIFY2(stPieces >= 0 && stPieces < 1e-4, qPrintable(QString::number(stPieces)));
        QVERIFY2(stSteps >= 0 && stSteps < 1e-4, qPrintable(QString::number(stSteps)));
    }

    void checkPoolPolicy(const std::string& eviction)
    {
        auto model = test::perturbedModel(test::smallConfig(", \"eviction\": \"" + eviction + "\""), 3);
        const ModelConfig& c = model->impl().config;
        const auto tokens = test::randomTokens(1500, static_cast<int32_t>(c.vocab_size), 4);
        State st = model->newState();
        std::vector<std::vector<float>> scores(c.n_layer);
        std::vector<NoteEvent> events;
        std::mt19937 rng(9);
        for (size_t done = 0; done < tokens.size();) {
            const size_t n = std::min<size_t>(tokens.size() - done, 1 + rng() % 40);
            const ReadResult r = model->read(st, {tokens.begin() + done, tokens.begin() + done + n});
            done += n;
            for (int64_t l = 0; l < c.n_layer; ++l)
                scores[l].insert(scores[l].end(), r.importance[l].begin(), r.importance[l].end());
            events.insert(events.end(), r.notes.begin(), r.notes.end());
            // Invariants after every piece: at most M entries, none from the current chunk.
            const int64_t chunkStart = st.position() / c.note_chunk * c.note_chunk;
            for (const auto& layer : st.impl().layers) {
                QVERIFY(layer.pool.fill <= c.pool_slots);
                for (int64_t p : layer.pool.position)
                    QVERIFY2(p < chunkStart, qPrintable(QString("pool holds position %1, chunk starts at %2")
                                                            .arg(p).arg(chunkStart)));
                QVERIFY(int64_t(layer.pool.candidates.size()) <= c.notes_per_chunk);
            }
        }
        // Every insertion: score above tau, at most k a chunk and layer.
        std::map<std::pair<int, int64_t>, int> perChunk;
        for (const NoteEvent& e : events) {
            QVERIFY(e.score > c.note_threshold);
            const std::pair<int, int64_t> key(e.layer, e.position / c.note_chunk);
            QVERIFY(++perChunk[key] <= c.notes_per_chunk);
        }
        QVERIFY(!events.empty());
        // The pool equals a naive simulation of the policy from the reported scores.
        bool evicted = false;
        for (int64_t l = 0; l < c.n_layer; ++l) {
            std::vector<std::pair<float, int64_t>> pool;  // (priority, position)
            const int64_t closed = int64_t(tokens.size()) / c.note_chunk;
            for (int64_t chunk = 0; chunk < closed; ++chunk) {
                std::vector<std::pair<float, int64_t>> cand;
                for (int64_t p = chunk * c.note_chunk; p < (chunk + 1) * c.note_chunk; ++p)
                    if (scores[l][p] > c.note_threshold)
                        cand.push_back({scores[l][p], p});
                std::sort(cand.rbegin(), cand.rend());  // best first; equal score: later first
                cand.resize(std::min<size_t>(cand.size(), c.notes_per_chunk));
                pool.insert(pool.end(), cand.begin(), cand.end());
                if (eviction == "priority")
                    std::sort(pool.rbegin(), pool.rend());
                else
                    std::sort(pool.begin(), pool.end(),
                              [](const auto& x, const auto& y) { return x.second > y.second; });
                if (int64_t(pool.size()) > c.pool_slots) {
                    pool.resize(c.pool_slots);
                    evicted = true;
                }
            }
            std::set<int64_t> want, got;
            for (const auto& e : pool)
                want.insert(e.second);
            for (int64_t p : st.impl().layers[l].pool.position)
                if (p >= 0)
                    got.insert(p);
            QVERIFY2(want == got, qPrintable(QString("layer %1: pool differs from the %2 policy")
                                                 .arg(l).arg(QString::fromStdString(eviction))));
        }
        QVERIFY(evicted);  // the test exercised eviction
    }

private slots:
    void initTestCase()
    {
        qInfo("threads: %d", runtimeInfo().threads);
    }

    void equivalenceNotesOn() { checkEquivalence(test::smallConfig()); }
    void equivalenceNotesOff() { checkEquivalence(test::smallConfig(R"(, "notes": "off")")); }
    void equivalenceOddSizes()
    {
        // Odd sizes: d_inner not a multiple of the scan's channel block, chunk 7, p = 3.
        checkEquivalence(R"({"vocab_size": 50, "d_model": 20, "n_layer": 3, "d_state": 5, "d_conv": 3,)"
                         R"( "pool_slots": 5, "note_dim": 12, "note_chunk": 7, "notes_per_chunk": 2,)"
                         R"( "attn_heads": 3, "cross_layer_period": 3, "note_threshold": 0.45})");
    }

    void causality()
    {
        auto model = test::perturbedModel(test::smallConfig(), 21);
        const int64_t V = model->impl().config.vocab_size;
        auto tokens = test::randomTokens(600, static_cast<int32_t>(V), 2);
        ReadOptions opt;
        opt.logits = true;
        State s1 = model->newState();
        const ReadResult a = model->read(s1, tokens, opt);
        for (int64_t t : {0, 40, 301, 599}) {
            auto changed = tokens;
            changed[t] = (changed[t] + 1) % V;
            State s2 = model->newState();
            const ReadResult b = model->read(s2, changed, opt);
            if (t > 0) {
                QCOMPARE(relativeError(logitsRows(a.logits, V, 0, t), logitsRows(b.logits, V, 0, t)), 0.0);
                for (int64_t l = 0; l < model->impl().config.n_layer; ++l)
                    QVERIFY(std::equal(a.importance[l].begin(), a.importance[l].begin() + t, b.importance[l].begin()));
            }
            QVERIFY(relativeError(logitsRows(a.logits, V, t, t + 1), logitsRows(b.logits, V, t, t + 1)) > 1e-3);
        }
    }

    void resumeFromBytes()
    {
        auto model = test::perturbedModel(test::smallConfig(), 5);
        const int64_t V = model->impl().config.vocab_size;
        const auto tokens = test::randomTokens(1000, static_cast<int32_t>(V), 8);
        const std::vector<int32_t> head(tokens.begin(), tokens.begin() + 537), tail(tokens.begin() + 537, tokens.end());
        ReadOptions opt;
        opt.logits = true;
        State original = model->newState();
        model->read(original, head, opt);
        const std::vector<uint8_t> bytes = model->saveState(original);
        State restored = model->loadState(bytes);
        QCOMPARE(restored.position(), int64_t(537));
        QCOMPARE(test::stateDifference(original.impl(), restored.impl()), 0.0);
        const ReadResult a = model->read(original, tail, opt), b = model->read(restored, tail, opt);
        QCOMPARE(relativeError(a.logits, b.logits), 0.0);
        QCOMPARE(relativeError(a.surprisal, b.surprisal), 0.0);
        QCOMPARE(test::stateDifference(original.impl(), restored.impl()), 0.0);
        GenerateOptions g;
        g.maxTokens = 20;
        g.temperature = 0.8f;
        g.seed = 3;
        QCOMPARE(model->generate(original, g).tokens, model->generate(restored, g).tokens);
    }

    void poolInvariantsPriority() { checkPoolPolicy("priority"); }
    void poolInvariantsFifo() { checkPoolPolicy("fifo"); }

    void noteEventsAreReportedOnce()
    {
        auto model = test::perturbedModel(test::smallConfig(), 12);
        const auto tokens = test::randomTokens(200, 64, 1);
        State s = model->newState();
        int callbacks = 0;
        ReadOptions opt;
        opt.onNote = [&](const NoteEvent&) { ++callbacks; };
        const ReadResult r = model->read(s, tokens, opt);
        QCOMPARE(callbacks, int(r.notes.size()));
        QCOMPARE(int64_t(r.surprisal.size()), int64_t(200));
        QCOMPARE(int64_t(r.importance.size()), model->impl().config.n_layer);
        for (const NoteEvent& e : r.notes)
            QVERIFY(e.slot >= 0 && e.slot < 6 && e.position < 192);
    }

    void surprisalIsNextTokenNll()
    {
        // surprisal[i] = -log softmax(logits of position i-1)[token i], also across reads.
        auto model = test::perturbedModel(test::smallConfig(), 14);
        const auto tokens = test::randomTokens(300, 64, 5);
        ReadOptions opt;
        opt.logits = true;
        opt.segmentTokens = 64;
        State s = model->newState();
        ReadResult r = model->read(s, {tokens.begin(), tokens.begin() + 200}, opt);
        const ReadResult r2 = model->read(s, {tokens.begin() + 200, tokens.end()}, opt);
        r.surprisal.insert(r.surprisal.end(), r2.surprisal.begin(), r2.surprisal.end());
        r.logits.insert(r.logits.end(), r2.logits.begin(), r2.logits.end());
        const at::Tensor logits = at::tensor(r.logits).view({300, 64}).to(at::kDouble);
        const at::Tensor logp = at::log_softmax(logits, 1);
        QVERIFY(std::isnan(r.surprisal[0]));
        double worst = 0;
        for (int64_t i = 1; i < 300; ++i)
            worst = std::max(worst, std::abs(-logp[i - 1][tokens[i]].item<double>() - r.surprisal[i]));
        QVERIFY2(worst < 1e-5, qPrintable(QString::number(worst)));
    }

    void cancelBetweenSegments()
    {
        auto model = test::perturbedModel(test::smallConfig(), 2);
        std::atomic<bool> cancel{false};
        ReadOptions opt;
        opt.segmentTokens = 50;
        opt.cancel = &cancel;
        opt.onProgress = [&](int64_t done, int64_t) { cancel = done >= 100; };
        State s = model->newState();
        const ReadResult r = model->read(s, test::randomTokens(400, 64, 3), opt);
        QVERIFY(r.cancelled);
        QCOMPARE(r.tokensRead, int64_t(100));
        QCOMPARE(s.position(), int64_t(100));
    }

    void checkReadEach(const Model& model, bool noPool = false, bool noteEvents = true)
    {
        // Each continuation read from its own copy equals clone + read, and the source
        // state is left as it was. Those within the branch pass's reach go through one
        // batched pass (with note events asked for: only those ending before the chunk's
        // last token; without: also those crossing its end, each branch merging its own
        // notes), the others are read apart (on CUDA at once on their own streams).
        State from = model.newState();
        model.read(from, test::randomTokens(150, 64, 8));
        const auto before = model.saveState(from);
        std::vector<std::vector<int32_t>> continuations;
        for (int64_t n : {1, 3, 7, 40, 130, 2, 20})  // a single token (the step path), and reads that close note chunks
            continuations.push_back(test::randomTokens(n, 64, static_cast<uint64_t>(n)));
        continuations.push_back(continuations[2]);  // the same twice: the same result
        int branches = 0;
        const int64_t reach = engine::branchReach(model.impl(), from.impl(), !noteEvents);
        for (const auto& c : continuations)
            branches += static_cast<int64_t>(c.size()) <= reach ? 1 : 0;
        // 150 % 16 = 6: the 1, 3, 7, 2 and 7 tokens end before the chunk's last token, the
        // 20 cross its end once; without notes no chunk bounds them.
        QCOMPARE(branches, !model.impl().config.notes ? 8 : noteEvents ? 5 : 6);
        ReadOptions opt;
        opt.importance = false;
        opt.noPool = noPool;
        opt.noteEvents = noteEvents;
        const std::vector<ReadResult> each = model.readEach(from, continuations, opt);
        QCOMPARE(each.size(), continuations.size());
        for (size_t i = 0; i < continuations.size(); ++i) {
            State alone = from.clone();
            const ReadResult r = model.read(alone, continuations[i], opt);
            QCOMPARE(each[i].surprisal.size(), continuations[i].size());
            QCOMPARE(each[i].startPosition, from.position());
            QCOMPARE(each[i].notes.size(), r.notes.size());
            for (size_t t = 0; t < r.surprisal.size(); ++t)
                QVERIFY2(std::abs(each[i].surprisal[t] - r.surprisal[t]) < 1e-5,
                         qPrintable(QStringLiteral("continuation %1 token %2: %3 vs %4")
                                        .arg(i).arg(t).arg(each[i].surprisal[t]).arg(r.surprisal[t])));
        }
        // The same twice: the same result (up to rounding: two rows of one batched product).
        QCOMPARE(each[2].surprisal.size(), each.back().surprisal.size());
        for (size_t t = 0; t < each[2].surprisal.size(); ++t)
            QVERIFY2(std::abs(each[2].surprisal[t] - each.back().surprisal[t]) < 1e-6,
                     qPrintable(QString::number(std::abs(each[2].surprisal[t] - each.back().surprisal[t]))));
        // branchesOnly: the batched pass's continuations read as above, the others left
        // unread (no surprisal, tokensRead 0), the source state unchanged.
        ReadOptions only = opt;
        only.branchesOnly = true;
        const std::vector<ReadResult> ahead = model.readEach(from, continuations, only);
        QCOMPARE(ahead.size(), continuations.size());
        int read = 0;
        for (size_t i = 0; i < continuations.size(); ++i) {
            const bool inReach = static_cast<int64_t>(continuations[i].size()) <= reach;
            QCOMPARE(ahead[i].tokensRead, inReach ? static_cast<int64_t>(continuations[i].size()) : int64_t(0));
            QCOMPARE(ahead[i].surprisal.size(), inReach ? continuations[i].size() : size_t(0));
            for (size_t t = 0; t < ahead[i].surprisal.size(); ++t)
                QVERIFY2(std::abs(ahead[i].surprisal[t] - each[i].surprisal[t]) < 1e-5,
                         qPrintable(QStringLiteral("branchesOnly, continuation %1 token %2").arg(i).arg(t)));
            read += inReach ? 1 : 0;
        }
        QCOMPARE(read, branches);
        // One continuation within reach is still read (a pass of one).
        const std::vector<ReadResult> one = model.readEach(from, {continuations[0]}, only);
        QCOMPARE(one.front().surprisal.size(), continuations[0].size());
        QVERIFY(std::abs(one.front().surprisal[0] - each[0].surprisal[0]) < 1e-5);
        QVERIFY(model.saveState(from) == before);
        QVERIFY(model.readEach(from, {}, opt).empty());
        const std::string err = errorOf([&] { model.readEach(from, {{1, 2}, {3, 64}}, opt); });
        QVERIFY2(err.find("token 1 has id 64") != std::string::npos, err.c_str());
        QVERIFY(model.saveState(from) == before);
    }

    void readEachReadsFromCopies() { checkReadEach(*test::perturbedModel(test::smallConfig(), 21)); }
    void readEachAcrossAChunkEnd() { checkReadEach(*test::perturbedModel(test::smallConfig(), 24), false, false); }
    void readEachWithoutPools() { checkReadEach(*test::perturbedModel(test::smallConfig(), 22), true); }
    void readEachWithNotesOff() { checkReadEach(*test::perturbedModel(test::smallConfig(R"(, "notes": "off")"), 23)); }

    void readEachOnCuda()
    {
        if (!runtimeInfo().cudaAvailable)
            QSKIP("no CUDA device");
        const auto model = test::perturbedModel(test::smallConfig(), 21, "cuda");  // notes that change the outputs
        // Strict fp32 (loading allowed TF32): the batched branch pass's matrix products
        // against the one-by-one reads' at 1e-5.
        engine::allowTf32Matmuls(false);
        checkReadEach(*model);
        checkReadEach(*model, false, false);  // branches across the chunk's end: a host walk per branch
        checkReadEach(*model, true);
        engine::allowTf32Matmuls(true);
    }

    void readRejectsBadTokensAndKeepsState()
    {
        auto model = test::perturbedModel(test::smallConfig(), 2);
        State s = model->newState();
        model->read(s, {1, 2, 3});
        const auto before = model->saveState(s);
        const std::string err = errorOf([&] { model->read(s, {4, 64}); });
        QVERIFY2(err.find("token 1 has id 64") != std::string::npos, err.c_str());
        QVERIFY(model->saveState(s) == before);
        auto other = Model::createRandom(test::smallConfig(R"(, "d_state": 4)"), 0, "cpu");
        const std::string err2 = errorOf([&] { other->read(s, {1}); });
        QVERIFY2(err2 == "read: the state was made by another model (other sizes or device)", err2.c_str());
        QVERIFY(model->saveState(s) == before);
    }

    void safetensorsRoundTrip()
    {
        auto model = test::perturbedModel(test::smallConfig(), 31);
        const auto tokens = test::randomTokens(100, 64, 6);
        ReadOptions opt;
        opt.logits = true;
        State s0 = model->newState();
        const ReadResult want = model->read(s0, tokens, opt);

        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::string dir32 = tmp.path().toStdString() + "/fp32";
        model->save(dir32, "fp32");
        auto loaded = Model::load(dir32, "cpu");
        QCOMPARE(loaded->info().fingerprint, model->info().fingerprint);
        State s1 = loaded->newState();
        QCOMPARE(relativeError(want.logits, loaded->read(s1, tokens, opt).logits), 0.0);

        const std::string dir16 = tmp.path().toStdString() + "/bf16/nested";
        model->save(dir16, "bf16");
        QVERIFY(fileSize(dir16 + "/model.safetensors") < fileSize(dir32 + "/model.safetensors") * 6 / 10);
        auto half = Model::load(dir16, "cpu");
        engine::Model& a = model->impl();
        engine::Model& b = half->impl();
        std::map<std::string, at::Tensor> rounded;
        engine::forEachParameter(a.weights, a.config, [&](const std::string& n, at::Tensor& t) {
            rounded[n] = t.to(at::kBFloat16).to(at::kFloat);
        });
        int compared = 0;
        engine::forEachParameter(b.weights, b.config, [&](const std::string& n, at::Tensor& t) {
            QVERIFY2(at::equal(t, rounded.at(n)), n.c_str());
            ++compared;
        });
        QCOMPARE(int64_t(compared), int64_t(engine::parameterShapes(a.config).size()));
        QVERIFY(half->info().fingerprint != model->info().fingerprint);
        half->save(dir16, "bf16");  // bf16 values survive another round exactly
        QCOMPARE(Model::load(dir16, "cpu")->info().fingerprint, half->info().fingerprint);
    }

    void loadErrorsNameTheMismatch()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const std::string dir = tmp.path().toStdString();
        auto model = Model::createRandom(test::smallConfig(), 1, "cpu");
        model->save(dir, "fp32");
        auto writeConfig = [&](const std::string& text) { std::ofstream(dir + "/config.json") << text; };

        writeConfig(test::smallConfig(R"(, "d_state": 4)"));
        std::string err = errorOf([&] { Model::load(dir, "cpu"); });
        QVERIFY2(err.find("layers.0.mixer.x_proj.weight has shape [18, 64], config.json expects [10, 64]") !=
                     std::string::npos, err.c_str());

        writeConfig(test::smallConfig(R"(, "notes": "off")"));
        err = errorOf([&] { Model::load(dir, "cpu"); });
        QVERIFY2(err.find("unexpected tensor layers.0.note") != std::string::npos, err.c_str());

        writeConfig(test::smallConfig(R"(, "n_layer": 5)"));
        err = errorOf([&] { Model::load(dir, "cpu"); });
        QVERIFY2(err.find("missing tensor layers.4.norm.weight") != std::string::npos, err.c_str());

        writeConfig(test::smallConfig(R"(, "d_modle": 5)"));
        err = errorOf([&] { Model::load(dir, "cpu"); });
        QVERIFY2(err.find("unknown field 'd_modle'") != std::string::npos, err.c_str());
        QCOMPARE(loadErrorKindOf([&] { Model::load(dir, "cpu"); }), int(LoadErrorKind::InvalidModel));

        writeConfig(test::smallConfig());
        QFile weights(QString::fromStdString(dir + "/model.safetensors"));
        QVERIFY(weights.resize(weights.size() - 100));
        err = errorOf([&] { Model::load(dir, "cpu"); });
        QVERIFY2(err.find("outside the file") != std::string::npos, err.c_str());

        QVERIFY(weights.remove());
        err = errorOf([&] { Model::load(dir, "cpu"); });
        QVERIFY2(err.find("cannot open weights file") != std::string::npos, err.c_str());
        QCOMPARE(loadErrorKindOf([&] { Model::load(dir, "cpu"); }), int(LoadErrorKind::MissingFile));
        QCOMPARE(loadErrorKindOf([&] { Model::load(dir + "/nowhere", "cpu"); }), int(LoadErrorKind::MissingFile));

        err = errorOf([&] { Model::createRandom(R"({"notes": "maybe"})", 0, "cpu"); });
        QVERIFY2(err.find("notes must be") != std::string::npos, err.c_str());
        err = errorOf([&] { Model::createRandom("{}", 0, "tpu"); });
        QVERIFY2(err.find("unknown device 'tpu'") != std::string::npos, err.c_str());
        QCOMPARE(loadErrorKindOf([&] { Model::createRandom("{}", 0, "tpu"); }), int(LoadErrorKind::WrongDevice));
    }

    void stateFormatErrors()
    {
        auto model = test::perturbedModel(test::smallConfig(R"(, "tokenizer_fingerprint": "spm:a")"), 4);
        State s = model->newState();
        model->read(s, test::randomTokens(70, 64, 1));
        const std::vector<uint8_t> bytes = model->saveState(s);

        auto other = test::perturbedModel(test::smallConfig(R"(, "tokenizer_fingerprint": "spm:a")"), 5);
        std::string err = errorOf([&] { other->loadState(bytes); });
        QVERIFY2(err.rfind("state was made by model mm1:", 0) == 0 && err.find(", this is mm1:") != std::string::npos,
                 err.c_str());
        QCOMPARE(loadErrorKindOf([&] { other->loadState(bytes); }), int(LoadErrorKind::ModelMismatch));
        QCOMPARE(model->info().stateFormatVersion, int(bytes[8]));

        auto otherTokenizer = test::perturbedModel(test::smallConfig(R"(, "tokenizer_fingerprint": "spm:b")"), 4);
        QCOMPARE(otherTokenizer->info().fingerprint, model->info().fingerprint);
        err = errorOf([&] { otherTokenizer->loadState(bytes); });
        QVERIFY2(err == "state was made with tokenizer spm:a, this model uses spm:b", err.c_str());
        QCOMPARE(loadErrorKindOf([&] { otherTokenizer->loadState(bytes); }), int(LoadErrorKind::TokenizerMismatch));

        auto newer = bytes;
        newer[8] = 3;
        err = errorOf([&] { model->loadState(newer); });
        QVERIFY2(err == "state format 3 is newer than this build's 1", err.c_str());
        QCOMPARE(loadErrorKindOf([&] { model->loadState(newer); }), int(LoadErrorKind::FormatVersion));

        auto badMagic = bytes;
        badMagic[0] = 'X';
        err = errorOf([&] { model->loadState(badMagic); });
        QVERIFY2(err.find("not a MemMamba state") != std::string::npos, err.c_str());
        QCOMPARE(loadErrorKindOf([&] { model->loadState(badMagic); }), int(LoadErrorKind::Corrupt));

        // Cut inside layer 1's SSM section.
        const uint8_t ssmTag[8] = {'S', 'S', 'M', '_', 1, 0, 0, 0};
        const auto at1 = std::search(bytes.begin(), bytes.end(), ssmTag, ssmTag + 8);
        QVERIFY(at1 != bytes.end());
        const std::vector<uint8_t> cut(bytes.begin(), at1 + 16 + 10);
        err = errorOf([&] { model->loadState(cut); });
        QVERIFY2(err.rfind("truncated state: layer 1 ssm section", 0) == 0, err.c_str());

        // Every truncation fails with a message, never a crash or a half state.
        for (size_t n = 0; n < bytes.size(); n += 97) {
            const std::vector<uint8_t> part(bytes.begin(), bytes.begin() + n);
            QVERIFY(errorOf([&] { model->loadState(part); }) != "(no error)");
        }
        QCOMPARE(model->loadState(bytes).position(), int64_t(70));
    }

    void generation()
    {
        auto model = test::perturbedModel(test::smallConfig(), 8);
        State prompt = model->newState();
        QVERIFY(errorOf([&] { model->generate(prompt, {}); }).find("read no token") != std::string::npos);
        const auto promptTokens = test::randomTokens(50, 64, 9);
        model->read(prompt, promptTokens);

        GenerateOptions greedy;
        greedy.maxTokens = 12;
        State s1 = prompt.clone(), s2 = prompt.clone();
        const int threads = runtimeInfo().threads;
        const GenerateResult g1 = model->generate(s1, greedy), g2 = model->generate(s2, greedy);
        QCOMPARE(runtimeInfo().threads, threads);  // generation runs on one thread, then restores
        QCOMPARE(g1.tokens.size(), size_t(12));
        QCOMPARE(g1.tokens, g2.tokens);
        QVERIFY(g1.reason == StopReason::MaxTokens);

        // Nucleus of (almost) zero mass: only the most likely token, i.e. greedy.
        GenerateOptions tiny = greedy;
        tiny.temperature = 1.0f;
        tiny.topP = 1e-6f;
        tiny.seed = 77;
        State s3 = prompt.clone();
        QCOMPARE(model->generate(s3, tiny).tokens, g1.tokens);

        // The state after generating equals the prompt + generated tokens read.
        State replay = prompt.clone();
        ReadOptions lo;
        lo.logits = true;
        model->read(replay, g1.tokens);
        QCOMPARE(replay.position(), s1.position());
        QVERIFY(test::stateDifference(replay.impl(), s1.impl()) < 1e-5);

        // A stop token stops after being emitted; the callback streams every token.
        GenerateOptions stop = greedy;
        stop.stopTokens = {g1.tokens[3]};
        std::vector<int32_t> streamed;
        stop.onToken = [&](int32_t t) { streamed.push_back(t); return true; };
        State s4 = prompt.clone();
        const GenerateResult g4 = model->generate(s4, stop);
        QVERIFY(g4.reason == StopReason::StopToken);
        const size_t firstStop = std::find(g1.tokens.begin(), g1.tokens.end(), g1.tokens[3]) - g1.tokens.begin();
        QCOMPARE(g4.tokens, std::vector<int32_t>(g1.tokens.begin(), g1.tokens.begin() + firstStop + 1));
        QCOMPARE(streamed, g4.tokens);

        GenerateOptions halt = greedy;
        halt.onToken = [&](int32_t) { return false; };
        State s5 = prompt.clone();
        const GenerateResult g5 = model->generate(s5, halt);
        QVERIFY(g5.reason == StopReason::Callback);
        QCOMPARE(g5.tokens.size(), size_t(1));

        // Sampling: the seed decides; a different seed may differ, the same one must not.
        GenerateOptions sample = greedy;
        sample.temperature = 1.5f;
        sample.topP = 0.9f;
        sample.seed = 1;
        State s6 = prompt.clone(), s7 = prompt.clone();
        QCOMPARE(model->generate(s6, sample).tokens, model->generate(s7, sample).tokens);
    }

    void cudaMatchesCpu()
    {
        // The CUDA sequence path (torch ops, the reference scan) against the CPU loops;
        // states move between devices (same fingerprint). Skipped without a GPU.
        if (!runtimeInfo().cudaAvailable)
            QSKIP("no CUDA device");
        auto cpuModel = test::perturbedModel(test::smallConfig(), 7);
        auto gpuModel = Model::createRandom(test::smallConfig(), 7, "cuda");
        std::vector<at::Tensor> weights;
        engine::forEachParameter(cpuModel->impl().weights, cpuModel->impl().config,
                                 [&](const std::string&, at::Tensor& t) { weights.push_back(t); });
        size_t i = 0;
        engine::forEachParameter(gpuModel->impl().weights, gpuModel->impl().config,
                                 [&](const std::string&, at::Tensor& t) { t = weights[i++].to(t.device()); });
        gpuModel->impl().fingerprint = engine::computeFingerprint(gpuModel->impl());
        QCOMPARE(gpuModel->info().fingerprint, cpuModel->info().fingerprint);
        QVERIFY(gpuModel->info().device.rfind("cuda", 0) == 0);

        const auto tokens = test::randomTokens(2000, 64, 3);
        ReadOptions opt;
        opt.logits = true;
        opt.segmentTokens = 4096;
        // Loading on CUDA allows TF32 matrix products (engine/cuda_precision.h): first
        // their error against the CPU, then strict fp32 for the algorithm's 1e-4.
        {
            State c = cpuModel->newState(), g = gpuModel->newState();
            const double err = relativeError(cpuModel->read(c, tokens, opt).logits, gpuModel->read(g, tokens, opt).logits);
            qInfo("cuda (tf32) vs cpu logits: %.3g", err);
            QVERIFY2(err < 1e-2, qPrintable(QString::number(err)));
        }
        engine::allowTf32Matmuls(false);
        State c = cpuModel->newState(), g = gpuModel->newState();
        const ReadResult rc = cpuModel->read(c, tokens, opt), rg = gpuModel->read(g, tokens, opt);
        const double err = relativeError(rc.logits, rg.logits);
        qInfo("cuda vs cpu logits: %.3g", err);
        QVERIFY2(err < 1e-4, qPrintable(QString::number(err)));

        // Pieces and single tokens on the GPU agree with its one pass.
        State gp = gpuModel->newState();
        ReadResult pieces;
        std::mt19937 rng(1);
        for (size_t done = 0; done < tokens.size();) {
            const size_t n = done >= 1900 ? 1 : std::min<size_t>(tokens.size() - done, 1 + rng() % 200);
            const ReadResult r = gpuModel->read(gp, {tokens.begin() + done, tokens.begin() + done + n}, opt);
            pieces.logits.insert(pieces.logits.end(), r.logits.begin(), r.logits.end());
            done += n;
        }
        QVERIFY(relativeError(rg.logits, pieces.logits) < 1e-4);
        QVERIFY(test::stateDifference(g.impl(), gp.impl()) >= 0);

        // A state saved on the GPU continues on the CPU like the CPU's own.
        State moved = cpuModel->loadState(gpuModel->saveState(g));
        const auto more = test::randomTokens(300, 64, 4);
        const ReadResult a = cpuModel->read(c, more, opt), b = cpuModel->read(moved, more, opt);
        QVERIFY(relativeError(a.logits, b.logits) < 1e-4);
    }

    void infoAndDefaultSize()
    {
        const ModelConfig c;  // the engine default
        const int64_t params = engine::parameterCount(c);
        qInfo("default config: %lld parameters, %.1f MB in bf16", static_cast<long long>(params), params * 2 / 1e6);
        QVERIFY(params * 2 <= 24000000);
        auto model = Model::createRandom(test::smallConfig(), 0, "cpu");
        const ModelInfo info = model->info();
        QCOMPARE(info.parameterCount, engine::parameterCount(model->impl().config));
        QVERIFY(info.fingerprint.rfind("mm1:", 0) == 0 && info.fingerprint.size() == 4 + 64);
        QCOMPARE(Model::createRandom(test::smallConfig(), 0, "cpu")->info().fingerprint, info.fingerprint);
        QVERIFY(Model::createRandom(test::smallConfig(), 1, "cpu")->info().fingerprint != info.fingerprint);
        QCOMPARE(info.device, std::string("cpu"));
    }
};

QTEST_APPLESS_MAIN(TestEngineModel)
#include "tst_engine_model.moc"
