// engine/train on the CPU with tiny models: the batched forward equals the engine's
// forwardSequence; the curriculum's state drop; weight-decay groups; the LR schedule;
// the surprisal target; data windows and synthetic rows (one sample, or packed); a short
// training run that learns, resumes exactly and writes a model folder the engine loads.
#include "engine_test_util.h"

#include "engine/engine.h"
#include "engine/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/train/batched_forward.h"
#include "engine/train/data.h"
#include "engine/eval/facts.h"
#include "engine/train/lr_schedule.h"
#include "engine/train/objectives.h"
#include "engine/train/trainer.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>

#include <torch/csrc/autograd/autograd.h>

using namespace mm;
using mm::test::relativeError;
namespace tr = mm::engine::train;

namespace {

at::Tensor batchTokens(int64_t rows, int64_t T, int32_t vocab, uint64_t seed)
{
    std::vector<int64_t> flat;
    for (int64_t r = 0; r < rows; ++r)
        for (int32_t t : mm::test::randomTokens(T, vocab, seed + r))
            flat.push_back(t);
    return at::tensor(flat, at::TensorOptions().dtype(at::kLong)).view({rows, T});
}

/// Every "loss" of a log.jsonl, by step.
std::map<int64_t, double> losses(const std::string& path)
{
    std::map<int64_t, double> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        const auto j = nlohmann::json::parse(line);
        if (j.contains("loss"))
            out[j["step"].get<int64_t>()] = j["loss"].get<double>();
    }
    return out;
}

/// A small corpus of repeated patterns: learnable in a few dozen steps.
void writeCorpus(const QString& dir)
{
    QDir().mkpath(dir);
    const char* lines[] = {"The cat sat on the mat and looked at the door. ", "One two three four five six seven. ",
                           "A quiet river runs past the old mill every day. "};
    for (int b = 0; b < 3; ++b) {
        std::ofstream out((dir + "/book" + QString::number(b) + ".txt").toStdString());
        for (int i = 0; i < 300; ++i)
            out << lines[(b + i) % 3];
    }
}

tr::TrainOptions tinyRun(const QString& data, const QString& out)
{
    tr::TrainOptions o;
    o.dataDir = data.toStdString();
    o.validDir = data.toStdString();
    o.outDir = out.toStdString();
    o.configJson = R"({"d_model": 32, "n_layer": 2, "d_state": 8, "pool_slots": 6, "note_dim": 16, "note_chunk": 16,)"
                   R"( "notes_per_chunk": 3, "attn_heads": 4, "cross_layer_period": 2})";
    o.batchRows = 4;
    o.seqLen = 128;
    o.lr = 3e-3;
    o.minLr = 3e-4;
    o.warmupSteps = 5;
    o.logEvery = 1;
    o.validEvery = 0;
    o.validWindows = 2;
    o.checkpointEvery = 0;
    o.threads = 2;
    return o;
}

}  // namespace

class TestTrain : public QObject {
    Q_OBJECT

private slots:
    void batchedForwardEqualsForwardSequence_data()
    {
        QTest::addColumn<QString>("extra");
        QTest::addColumn<int>("length");
        QTest::newRow("notes, partial last chunk") << QString() << 50;
        QTest::newRow("notes, whole chunks") << QString() << 48;
        QTest::newRow("notes, fifo") << QString(R"(, "eviction": "fifo")") << 40;
        QTest::newRow("notes off") << QString(R"(, "notes": false)") << 37;
    }
    void batchedForwardEqualsForwardSequence()
    {
        QFETCH(QString, extra);
        QFETCH(int, length);
        auto model = mm::test::perturbedModel(mm::test::smallConfig(extra.toStdString()), 7);
        const engine::Model& m = model->impl();
        const at::Tensor tokens = batchTokens(3, length, 64, 11);
        const tr::BatchOutput out = tr::forwardBatch(m, tokens);
        for (int64_t b = 0; b < 3; ++b) {
            engine::ModelState st = engine::newState(m);
            const at::Tensor ref = engine::forwardSequence(m, st, tokens[b]);
            const double err = relativeError(ref, out.hidden[b]);
            QVERIFY2(err < 1e-4, qPrintable(QString("row %1: relative error %2").arg(b).arg(err)));
        }
        QCOMPARE(int64_t(out.scoreLogits.size()), m.config.notes ? m.config.n_layer : int64_t(0));
    }

    void stateDropKeepsPools()
    {
        auto model = mm::test::perturbedModel(mm::test::smallConfig(), 3);
        const engine::Model& m = model->impl();
        const int64_t T = 48, cut = 16;  // a note-chunk boundary (C = 16)
        const at::Tensor tokens = batchTokens(2, T, 64, 5);
        // The mixer alone: row 0 drops at the cut, row 1 does not.
        const engine::MixerWeights& w = m.weights.layers[0].mixer;
        const at::Tensor u = at::randn({2, T, m.config.d_model});
        const at::Tensor dropped = tr::mixerBatch(w, m.config, u, {cut, -1});
        const at::Tensor full = tr::mixerBatch(w, m.config, u, {-1, -1});
        const at::Tensor tail = tr::mixerBatch(w, m.config, u.narrow(1, cut, T - cut), {-1, -1});
        QVERIFY(relativeError(full[0].narrow(0, 0, cut), dropped[0].narrow(0, 0, cut)) < 1e-6);
        QVERIFY(relativeError(tail[0], dropped[0].narrow(0, cut, T - cut)) < 1e-5);  // state zero at the cut
        QVERIFY(relativeError(full[1], dropped[1]) < 1e-6);
        QVERIFY(relativeError(full[0].narrow(0, cut, T - cut), dropped[0].narrow(0, cut, T - cut)) > 1e-3);
        // The whole model: before the cut nothing changes; after it the pools written
        // before the cut still reach the tokens (unlike a fresh start at the cut).
        tr::BatchOptions drop;
        drop.dropStateAt = {cut, -1};
        const tr::BatchOutput a = tr::forwardBatch(m, tokens, drop);
        const tr::BatchOutput b = tr::forwardBatch(m, tokens);
        QVERIFY(relativeError(b.hidden[0].narrow(0, 0, cut), a.hidden[0].narrow(0, 0, cut)) < 1e-6);
        QVERIFY(relativeError(b.hidden[1], a.hidden[1]) < 1e-6);
        const tr::BatchOutput fresh = tr::forwardBatch(m, tokens.narrow(1, cut, T - cut).contiguous());
        QVERIFY2(relativeError(fresh.hidden[0], a.hidden[0].narrow(0, cut, T - cut)) > 1e-3,
                 "after the drop the pools must still carry the first chunk");
        // With notes off the same drop is a fresh start at the cut.
        auto plain = mm::test::perturbedModel(mm::test::smallConfig(R"(, "notes": false)"), 3);
        const tr::BatchOutput pa = tr::forwardBatch(plain->impl(), tokens, drop);
        const tr::BatchOutput pf = tr::forwardBatch(plain->impl(), tokens.narrow(1, cut, T - cut).contiguous());
        QVERIFY(relativeError(pf.hidden[0], pa.hidden[0].narrow(0, cut, T - cut)) < 1e-5);
    }

    void packedRowEqualsSamplesAlone_data()
    {
        QTest::addColumn<QString>("extra");
        QTest::newRow("notes") << QString();
        QTest::newRow("notes, fifo") << QString(R"(, "eviction": "fifo")");
        QTest::newRow("notes off") << QString(R"(, "notes": false)");
    }
    void packedRowEqualsSamplesAlone()
    {
        // Two samples in one row, the second at a note-chunk boundary with its state reset
        // (SSM, conv, pools), read exactly as each alone: outputs, and the gradient of a
        // loss on the second sample, which must not reach back into the first.
        QFETCH(QString, extra);
        auto model = mm::test::perturbedModel(mm::test::smallConfig(extra.toStdString()), 5);
        engine::Model& m = model->impl();
        const int64_t La = 40, gap = 8, Lb = 45, start = La + gap;  // C = 16: start 48
        const at::Tensor a = batchTokens(1, La, 64, 21), b = batchTokens(1, Lb, 64, 22);
        const at::Tensor row = at::cat({a, at::zeros({1, gap}, at::kLong), b}, 1);
        tr::BatchOptions packed;
        packed.segmentStarts = {{start}};
        std::vector<at::Tensor> params;
        engine::forEachParameter(m.weights, m.config, [&](const std::string&, at::Tensor& t) {
            t.requires_grad_(true);
            params.push_back(t);
        });
        const tr::BatchOutput whole = tr::forwardBatch(m, row, packed);
        const tr::BatchOutput alone = tr::forwardBatch(m, b);
        const tr::BatchOutput first = tr::forwardBatch(m, a);
        const double errA = relativeError(first.hidden[0], whole.hidden[0].narrow(0, 0, La));
        const double errB = relativeError(alone.hidden[0], whole.hidden[0].narrow(0, start, Lb));
        QVERIFY2(errA < 1e-5, qPrintable(QString("first sample: %1").arg(errA)));
        QVERIFY2(errB < 1e-4, qPrintable(QString("second sample: %1").arg(errB)));
        // Without the reset the second sample does see the first.
        const tr::BatchOutput shared = tr::forwardBatch(m, row);
        QVERIFY(relativeError(alone.hidden[0], shared.hidden[0].narrow(0, start, Lb)) > 1e-3);
        // Gradients of a loss on the second sample: the same packed or alone.
        const at::Tensor probe = at::randn({Lb, m.config.d_model}, at::TensorOptions().dtype(at::kFloat));
        const auto gradsOf = [&](const at::Tensor& out) {
            std::vector<at::Tensor> g = torch::autograd::grad({(out * probe).sum()}, params, {}, false, false, true);
            for (auto& t : g)
                t = t.defined() ? t : at::Tensor();
            return g;
        };
        const auto gPacked = gradsOf(whole.hidden[0].narrow(0, start, Lb));
        const auto gAlone = gradsOf(alone.hidden[0]);
        for (size_t i = 0; i < params.size(); ++i) {
            if (!gAlone[i].defined() || gAlone[i].abs().max().item<double>() == 0)
                continue;
            QVERIFY2(gPacked[i].defined(), "a gradient missing in the packed row");
            const double err = relativeError(gAlone[i], gPacked[i]);
            QVERIFY2(err < 1e-3, qPrintable(QString("parameter %1: gradient relative error %2").arg(i).arg(err)));
        }
        for (at::Tensor& t : params)
            t.requires_grad_(false);
    }

    void isolatedSamplesStartAtChunkBoundaries()
    {
        auto tok = Tokenizer::loadDefault();
        tr::TokenCorpus c = tr::tokenizeBooks({MEMMAMBA_SOURCE_DIR "/README.md"}, *tok, tok->docSeparatorId(), 1);
        while (c.stream.size() < 20000)
            c.stream.insert(c.stream.end(), c.stream.begin(), c.stream.begin() + std::min<size_t>(c.stream.size(), 20000));
        tr::SamplerOptions so;
        so.rows = 6;
        so.length = 2048;
        so.syntheticShare = 1.0;
        so.syntheticMin = 128;
        so.syntheticMax = 400;
        so.noteChunk = 128;
        so.syntheticPacked = true;
        so.tasks = tr::kTaskAll;
        tr::BatchSampler sampler(c, tok.get(), so, 9);
        std::set<std::string> kinds;
        for (int i = 0; i < 3; ++i) {
            const tr::Batch b = sampler.next();
            const int64_t T = so.length;
            std::set<int32_t> ids;
            for (int64_t r = 0; r < so.rows; ++r) {
                const int64_t* row = b.tokens.data() + r * (T + 1);
                // every sample and the book window after them start a segment
                // (the book window has none when the last sample ends in the row's last chunk)
                const int64_t segments = int64_t(b.segmentStarts[r].size());
                QVERIFY2(segments == b.samples[r] || segments == b.samples[r] - 1,
                         qPrintable(QString("%1 segments for %2 samples").arg(segments).arg(b.samples[r])));
                QVERIFY(std::is_sorted(b.segmentStarts[r].begin(), b.segmentStarts[r].end()) &&
                        std::adjacent_find(b.segmentStarts[r].begin(), b.segmentStarts[r].end()) ==
                            b.segmentStarts[r].end());
                for (int64_t start : b.segmentStarts[r]) {
                    QCOMPARE(start % so.noteChunk, int64_t(0));
                    QVERIFY(start > 0 && start < T);
                    QCOMPARE(b.lossMask[r * T + start - 1], uint8_t(0));  // no target across the reset
                    QVERIFY(row[start] != tok->padId());
                }
                for (int64_t t = 0; t < T; ++t) {
                    if (row[t + 1] == tok->padId())
                        QCOMPARE(b.lossMask[r * T + t], uint8_t(0));
                    QCOMPARE(b.answerMask[r * T + t] != 0, b.answerSample[r * T + t] >= 0);
                    if (b.answerSample[r * T + t] >= 0)
                        ids.insert(b.answerSample[r * T + t]);
                }
                // planted facts are asked in ask's layout: <q> ... <a> answer </s>
                for (int64_t t = 0; t + 1 < T; ++t)
                    if (row[t] == tok->answerId()) {
                        kinds.insert("fact");
                        QCOMPARE(b.answerSample[r * T + t] >= 0, true);  // target row[t+1] is the answer's first token
                        int64_t e = t + 1;
                        while (e < T && row[e] != tok->eosId())
                            ++e;
                        QVERIFY2(e - t <= 24, "an answer of the ask layout runs on");
                        QVERIFY(b.answerSample[r * T + e - 1] >= 0);  // </s> is a target too
                    }
            }
            QCOMPARE(int64_t(ids.size()), b.answerSamples);
        }
        QVERIFY(kinds.count("fact"));
        // Facts: every relation gives a sentence that holds the answer and a question that does not.
        std::mt19937_64 rng(4);
        for (int i = 0; i < 200; ++i) {
            const mm::eval::PlantedFact f = mm::eval::randomFact(rng);
            QVERIFY2(f.sentence.find(f.answer) != std::string::npos, f.sentence.c_str());
            QVERIFY2(f.question.find(f.answer) == std::string::npos, f.question.c_str());
            QVERIFY(f.question.back() == '?');
        }
    }

    void curriculumStagesAndGatedSchedule()
    {
        tr::TrainOptions o;
        o.syntheticMin = 256;
        o.syntheticMax = 4096;
        o.tasks = tr::kTaskAll;
        auto st = tr::curriculumStages(o, true);
        QCOMPARE(int(st.size()), 4);
        QCOMPARE(QString::fromStdString(st[0].name), QString("passkey"));
        QCOMPARE(st[0].tasks, unsigned(tr::kTaskPasskey));
        QVERIFY(st[0].maxLength <= 1024 && st[1].maxLength < st[2].maxLength && st[2].maxLength == 4096);
        QVERIFY(!st[2].dropState && st[3].dropState);
        QCOMPARE(int(tr::curriculumStages(o, false).size()), 3);
        o.curriculumMode = "off";
        QCOMPARE(int(tr::curriculumStages(o, false).size()), 1);
        tr::TrainOptions ref;
        tr::applyPreset("passkey-ref", ref);
        QCOMPARE(ref.lmWeight, 0.0);
        QCOMPARE(ref.tasks, unsigned(tr::kTaskPasskey));
        QVERIFY_THROWS_EXCEPTION(tr::TrainError, tr::applyPreset("nope", ref));
        QCOMPARE(tr::parseTasks("passkey,fact"), unsigned(tr::kTaskPasskey | tr::kTaskFact));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tr::parseTasks("passkey,poems"));
    }

    void weightDecayGroups()
    {
        ModelConfig c;
        int64_t exempt = 0;
        for (const auto& [name, shape] : engine::parameterShapes(c)) {
            const bool e = tr::exemptFromWeightDecay(name);
            const bool endsWithD = name.size() >= 2 && name.compare(name.size() - 2, 2, ".D") == 0;
            const bool expected = name.find("A_log") != std::string::npos || endsWithD ||
                                  name.find("bias") != std::string::npos || name.find("norm") != std::string::npos;
            QVERIFY2(e == expected, name.c_str());
            if (e)
                QVERIFY2(shape.size() == 1 || name.find("A_log") != std::string::npos, name.c_str());
            exempt += e;
        }
        QVERIFY(tr::exemptFromWeightDecay("layers.3.mixer.A_log"));
        QVERIFY(tr::exemptFromWeightDecay("layers.0.mixer.D"));
        QVERIFY(tr::exemptFromWeightDecay("norm_f.weight"));
        QVERIFY(tr::exemptFromWeightDecay("layers.1.note.token_attn.gate.bias"));
        QVERIFY(!tr::exemptFromWeightDecay("embedding.weight"));
        QVERIFY(!tr::exemptFromWeightDecay("layers.0.mixer.dt_proj.weight"));
        QVERIFY(!tr::exemptFromWeightDecay("layers.3.note.layer_attn.source_embedding"));
        QVERIFY(exempt > 0);
    }

    void lrSchedule()
    {
        tr::LrSchedule s;
        s.peak = 1e-3;
        s.minLr = 1e-4;
        s.warmupSteps = 10;
        s.totalSteps = 110;
        QCOMPARE(s.at(0), 1e-4);   // 1/10 of the peak
        QCOMPARE(s.at(4), 5e-4);
        QCOMPARE(s.at(9), 1e-3);   // end of warm-up
        QCOMPARE(s.at(10), 1e-3);  // cosine starts at the peak
        QVERIFY(std::abs(s.at(60) - 5.5e-4) < 1e-12);  // half way: the mean of peak and min
        QVERIFY(std::abs(s.at(110) - 1e-4) < 1e-12);
        QVERIFY(std::abs(s.at(500) - 1e-4) < 1e-12);
        QVERIFY(s.at(30) > s.at(31));
    }

    void surprisalTargetTopKPerChunk()
    {
        // Two chunks of 4; k = 2. Column 0 has no prediction (weight 0, never a target).
        const at::Tensor nll = at::tensor({9.0f, 1.0f, 5.0f, 3.0f, /**/ 2.0f, 2.0f, 7.0f, 0.5f}).view({1, 8});
        const auto [target, weight] = tr::surprisalTarget(nll, 4, 2);
        const std::vector<float> t(target.data_ptr<float>(), target.data_ptr<float>() + 8);
        QCOMPARE(t, (std::vector<float>{0, 0, 1, 1, /**/ 1, 0, 1, 0}));  // tie 2.0/2.0: the earlier
        QCOMPARE(weight[0][0].item<float>(), 0.0f);
        QCOMPARE(weight.sum().item<float>(), 7.0f);
        // The loss pulls logits towards the target.
        const at::Tensor good = (target * 2 - 1) * 5, bad = -good;
        QVERIFY(tr::scoreLoss(good, target, weight).item<double>() < tr::scoreLoss(bad, target, weight).item<double>());
    }

    void windowsCrossBooksOnlyAtDoc()
    {
        // Book k is made of the token 100 + k; the separator is 4.
        tr::TokenCorpus c;
        const int64_t sizes[] = {40, 7, 300, 15, 90};
        for (int64_t k = 0; k < 5; ++k) {
            c.bookStart.push_back(int64_t(c.stream.size()));
            c.stream.push_back(4);
            c.stream.insert(c.stream.end(), sizes[k], int32_t(100 + k));
            c.names.push_back("b" + std::to_string(k));
        }
        QCOMPARE(c.bookTokens(1), int64_t(7));
        tr::SamplerOptions so;
        so.rows = 8;
        so.length = 64;
        so.syntheticShare = 0;
        tr::BatchSampler sampler(c, nullptr, so, 9);
        for (int i = 0; i < 50; ++i) {
            const tr::Batch b = sampler.next();
            QCOMPARE(int64_t(b.tokens.size()), so.rows * (so.length + 1));
            for (int64_t r = 0; r < so.rows; ++r) {
                const int64_t* row = b.tokens.data() + r * (so.length + 1);
                for (int64_t t = 1; t <= so.length; ++t)
                    if (row[t] != row[t - 1] && row[t] != 4 && row[t - 1] != 4)
                        QFAIL("a window moved from one book to another without <doc>");
                for (int64_t t = 2; t <= so.length; ++t)
                    if (row[t - 1] == 4 && row[t - 2] != 4 && row[t] != 4)
                        QVERIFY(row[t] == row[t - 2] + 1);  // the next book follows its <doc>
            }
        }
    }

    void syntheticSamples()
    {
        auto tok = Tokenizer::loadDefault();
        tr::TokenCorpus c = tr::tokenizeBooks({MEMMAMBA_SOURCE_DIR "/README.md"}, *tok, tok->docSeparatorId(), 1);
        while (c.stream.size() < 20000)
            c.stream.insert(c.stream.end(), c.stream.begin(), c.stream.begin() + std::min<size_t>(c.stream.size(), 20000));
        tr::SamplerOptions so;
        so.rows = 4;
        so.length = 512;
        so.syntheticShare = 1.0;
        so.syntheticMin = 128;
        so.syntheticMax = 300;
        so.noteChunk = 16;
        tr::BatchSampler sampler(c, tok.get(), so, 3);
        int drops = 0;
        for (int i = 0; i < 5; ++i) {
            const tr::Batch b = sampler.next();
            for (int64_t r = 0; r < so.rows; ++r) {
                QCOMPARE(int(b.synthetic[r]), 1);
                int answers = 0;
                std::string digits;
                for (int64_t t = 0; t < so.length; ++t)
                    if (b.answerMask[r * so.length + t]) {
                        ++answers;
                        digits += tok->decode({int32_t(b.tokens[r * (so.length + 1) + t + 1])});
                    }
                QVERIFY(answers >= 5);
                if (b.dropPoint[r] >= 0) {
                    ++drops;
                    QCOMPARE(b.dropPoint[r] % so.noteChunk, int64_t(0));
                }
            }
        }
        QVERIFY(drops > 0);
        // The sampler's state restores the exact stream.
        const std::string state = sampler.saveState();
        const tr::Batch x = sampler.next();
        sampler.loadState(state);
        QVERIFY(sampler.next().tokens == x.tokens);
    }

    void syntheticPackedRows()
    {
        auto tok = Tokenizer::loadDefault();
        const int32_t doc = tok->docSeparatorId();
        tr::TokenCorpus c = tr::tokenizeBooks({MEMMAMBA_SOURCE_DIR "/README.md"}, *tok, doc, 1);
        while (c.stream.size() < 20000)
            c.stream.insert(c.stream.end(), c.stream.begin(), c.stream.begin() + std::min<size_t>(c.stream.size(), 20000));
        tr::SamplerOptions so;
        so.rows = 4;
        so.length = 1536;
        so.syntheticShare = 0.75;
        so.syntheticMin = 128;
        so.syntheticMax = 300;
        so.noteChunk = 16;
        so.syntheticPacked = true;
        const int64_t T = so.length;
        tr::BatchSampler sampler(c, tok.get(), so, 3);
        auto text = [&](const int64_t* row, int64_t from, int64_t to) {
            return tok->decode(std::vector<int32_t>(row + from, row + to));
        };
        int drops = 0, syntheticRows = 0, bookRows = 0;
        int64_t samples = 0;
        for (int i = 0; i < 4; ++i) {
            const tr::Batch b = sampler.next();
            QCOMPARE(int64_t(b.samples.size()), so.rows);
            for (int64_t r = 0; r < so.rows; ++r) {
                const int64_t* row = b.tokens.data() + r * (T + 1);
                const uint8_t* mask = b.answerMask.data() + r * T;
                if (!b.synthetic[r]) {
                    ++bookRows;
                    QCOMPARE(b.samples[r], int64_t(0));
                    QCOMPARE(b.dropPoint[r], int64_t(-1));
                    QVERIFY(std::none_of(mask, mask + T, [](uint8_t m) { return m != 0; }));
                    continue;
                }
                ++syntheticRows;
                // Samples of at most 300 + ~40 tokens: three always leave room for a fourth.
                QVERIFY2(b.samples[r] >= 3, qPrintable(QString("row with %1 samples").arg(b.samples[r])));
                samples += b.samples[r];
                // Each answer is a run of the mask: " NNNNN" encoded on its own, after the
                // question's "is", followed by "." and <doc>; the samples are back to back
                // (the next starts at the next note chunk, after <pad>) and the key was planted in its context.
                int64_t segment = 0, runs = 0, firstAnswer = -1;
                for (int64_t t = 0; t < T; ++t) {
                    if (!mask[t] || (t > 0 && mask[t - 1]))
                        continue;
                    int64_t end = t;
                    while (end < T && mask[end])
                        ++end;
                    // mask index t is the target row[t + 1]; the answer's full stop is marked too
                    const std::vector<int32_t> stop = tok->encode(".");
                    const int64_t a0 = t + 1, a1 = end + 1 - int64_t(stop.size());
                    std::string key = text(row, a0, a1);
                    key.erase(0, key.find_first_not_of(' '));
                    QCOMPARE(int(key.size()), 5);
                    QVERIFY2(std::all_of(key.begin(), key.end(), [](char ch) { return ch >= '0' && ch <= '9'; }), key.c_str());
                    QVERIFY(std::vector<int32_t>(row + a0, row + a1) == tok->encode(" " + key));
                    QVERIFY(text(row, a0 - 3, a0).find("is") != std::string::npos);
                    QVERIFY(std::vector<int32_t>(row + a1, row + a1 + stop.size()) == stop);
                    const int64_t sep = a1 + int64_t(stop.size());
                    QVERIFY2(sep <= T, "a sample crosses the row's end");
                    QCOMPARE(int32_t(row[sep]), doc);
                    for (int64_t k = segment; k < a0; ++k)
                        QVERIFY2(row[k] != doc, "a separator inside a sample");
                    const std::string context = text(row, segment, a0);
                    QVERIFY(context.find("What is the") != std::string::npos);
                    QVERIFY2(context.find(key + ".") != std::string::npos, "the key is not in its context");
                    if (runs == 0) {
                        firstAnswer = a0;
                        const int64_t drop = b.dropPoint[r];
                        if (drop >= 0) {
                            ++drops;
                            QCOMPARE(drop % so.noteChunk, int64_t(0));
                            QVERIFY(drop > 0 && drop < a0);
                            // the fact (its key) lies before the drop, the whole question after it
                            QVERIFY(text(row, 0, drop).find(key) != std::string::npos);
                            QVERIFY(text(row, drop, a0).find("What is the") != std::string::npos);
                        }
                    }
                    segment = sep + 1;
                    ++runs;
                }
                QCOMPARE(runs, b.samples[r]);
                QVERIFY(firstAnswer > 0);
                // what follows the last sample is book text: no answer marked there
                QVERIFY(std::none_of(mask + segment - 1, mask + T, [](uint8_t m) { return m != 0; }));
            }
        }
        QVERIFY(syntheticRows > 0 && bookRows > 0);
        QVERIFY(drops > 0);
        QVERIFY(samples >= 3 * syntheticRows);
        // The sampler's state mid-stream restores the exact batches, packing included.
        const std::string state = sampler.saveState();
        const tr::Batch x = sampler.next(), y = sampler.next();
        sampler.loadState(state);
        const tr::Batch x2 = sampler.next(), y2 = sampler.next();
        QVERIFY(x.tokens == x2.tokens && y.tokens == y2.tokens);
        QVERIFY(x.answerMask == x2.answerMask && y.answerMask == y2.answerMask);
        QVERIFY(x.dropPoint == x2.dropPoint && y.dropPoint == y2.dropPoint);
        QVERIFY(x.samples == x2.samples && y.samples == y2.samples);
        // A second sampler of the same seed draws the same stream.
        tr::BatchSampler again(c, tok.get(), so, 3);
        tr::BatchSampler first(c, tok.get(), so, 3);
        QVERIFY(again.next().tokens == first.next().tokens);
    }

    void unpackedRowsHoldOneSample()
    {
        // Packing off (the default) is the one-sample row: one answer run, then book text;
        // an explicit `syntheticPacked = false` draws the same batches as the defaults.
        auto tok = Tokenizer::loadDefault();
        tr::TokenCorpus c = tr::tokenizeBooks({MEMMAMBA_SOURCE_DIR "/README.md"}, *tok, tok->docSeparatorId(), 1);
        while (c.stream.size() < 20000)
            c.stream.insert(c.stream.end(), c.stream.begin(), c.stream.begin() + std::min<size_t>(c.stream.size(), 20000));
        tr::SamplerOptions so;
        so.rows = 4;
        so.length = 1536;
        so.syntheticShare = 0.75;
        so.syntheticMin = 128;
        so.syntheticMax = 300;
        so.noteChunk = 16;
        QVERIFY(!so.syntheticPacked);
        tr::SamplerOptions off = so;
        off.syntheticPacked = false;
        tr::BatchSampler a(c, tok.get(), so, 3), b(c, tok.get(), off, 3);
        for (int i = 0; i < 3; ++i) {
            const tr::Batch x = a.next(), y = b.next();
            QVERIFY(x.tokens == y.tokens && x.answerMask == y.answerMask && x.dropPoint == y.dropPoint);
            for (int64_t r = 0; r < so.rows; ++r) {
                QCOMPARE(x.samples[r], int64_t(x.synthetic[r]));
                int runs = 0;
                for (int64_t t = 0; t < so.length; ++t)
                    runs += x.answerMask[r * so.length + t] && (t == 0 || !x.answerMask[r * so.length + t - 1]);
                QCOMPARE(runs, int(x.synthetic[r]));
            }
        }
    }

    void trainingLearnsResumesAndShips()
    {
        QTemporaryDir tmp;
        const QString data = tmp.path() + "/books";
        writeCorpus(data);
        auto quiet = [](const std::string&) {};
        // 1. The loss falls clearly within a few dozen steps.
        tr::TrainOptions o = tinyRun(data, tmp.path() + "/learn");
        o.steps = 40;
        o.syntheticShare = 0;
        o.validEvery = 20;
        const nlohmann::json s = tr::runTraining(o, quiet);
        const auto l = losses(o.outDir + "/log.jsonl");
        QVERIFY2(l.at(40) < l.at(1) * 0.6, qPrintable(QString("loss %1 -> %2").arg(l.at(1)).arg(l.at(40))));
        QCOMPARE(s["steps"].get<int64_t>(), int64_t(40));
        // 2. The model folder loads in the engine and reads.
        auto model = Model::load(o.outDir + "/model", "cpu");
        auto tok = Tokenizer::loadDefault();
        QCOMPARE(model->info().tokenizerFingerprint, tok->fingerprint());
        // the summary names the fingerprint every load of the shipped folder reports
        QCOMPARE(s["fingerprint"].get<std::string>(), model->info().fingerprint);
        State st = model->newState();
        const ReadResult r = model->read(st, tok->encode("The cat sat on the mat and looked at the door."));
        QVERIFY(r.surprisal.size() > 5);
        QVERIFY(std::isfinite(r.surprisal[3]));

        // 3. Stopping and resuming gives exactly the losses of an uninterrupted run, with
        //    synthetic rows and the curriculum's state drops in play.
        auto withSynthetic = [&](const QString& out) {
            tr::TrainOptions t = tinyRun(data, out);
            t.seqLen = 256;
            t.steps = 8;
            t.syntheticShare = 0.5;
            t.syntheticMin = 64;
            t.syntheticMax = 128;
            t.curriculumMinSteps = 0;
            t.curriculumThreshold = 0;  // on from the first step: drops happen
            return t;
        };
        const tr::TrainOptions whole = withSynthetic(tmp.path() + "/whole");
        const nlohmann::json ws = tr::runTraining(whole, quiet);
        QVERIFY(ws["curriculum"].get<bool>());
        tr::TrainOptions part = withSynthetic(tmp.path() + "/part");
        part.stopAfterSteps = 4;
        tr::runTraining(part, quiet);
        part.stopAfterSteps = 0;
        part.resume = true;
        tr::runTraining(part, quiet);
        const auto a = losses(whole.outDir + "/log.jsonl"), b = losses(part.outDir + "/log.jsonl");
        QCOMPARE(int(b.size()), 8);
        for (int64_t step = 1; step <= 8; ++step)
            QVERIFY2(a.at(step) == b.at(step),
                     qPrintable(QString("step %1: %2 vs %3").arg(step).arg(a.at(step), 0, 'g', 17).arg(b.at(step), 0, 'g', 17)));
        int dropped = 0, samples = 0;
        std::ifstream in(whole.outDir + "/log.jsonl");
        std::string line;
        while (std::getline(in, line)) {
            dropped += nlohmann::json::parse(line).value("dropped_rows", 0);
            samples += nlohmann::json::parse(line).value("synthetic_samples", 0);
        }
        QVERIFY(dropped > 0);
        QVERIFY(samples > 0);  // one a synthetic row: about half of the 8 x 4 rows
    }
};

QTEST_APPLESS_MAIN(TestTrain)
#include "tst_train.moc"
