// A tiny model learns pass-key recall on the CPU (label `train`): the trainer's recall
// machinery end to end (synthetic samples, the answers-only loss, the exact-match metric,
// the held-out exact match at validation, the continued run through --init-from).
//
// The recipe is the reference fact of docs/training.md scaled down to fit minutes on two
// cores: notes off, passkey with the repeated filler, haystacks of about 256 tokens,
// loss on the answer digits only, a constant learning rate. Exact match on held-out
// samples (greedy = every answer token's argmax right) must reach 0.9.
#include "engine/engine.h"
#include "engine/train/data.h"
#include "engine/train/trainer.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>

using namespace mm;
namespace tr = mm::engine::train;

namespace {

/// Book-like text for the sampler's rows (the pass-key samples bring their own filler).
void writeBooks(const QString& dir)
{
    QDir().mkpath(dir);
    std::ofstream out((dir + "/book.txt").toStdString());
    for (int i = 0; i < 400; ++i)
        out << "It was a quiet evening in the village, and the lamps were lit one after another. ";
}

tr::TrainOptions recallRun(const QString& data, const QString& out)
{
    tr::TrainOptions o;
    o.dataDir = data.toStdString();
    o.outDir = out.toStdString();
    o.configJson = R"({"d_model": 64, "n_layer": 2, "d_state": 16, "notes": false, "note_chunk": 64})";
    o.batchRows = 16;
    o.seqLen = 352;
    o.syntheticShare = 1.0;
    o.syntheticMin = 224;
    o.syntheticMax = 256;
    o.tasks = tr::kTaskPasskey;
    o.filler = "repeat";
    o.curriculumMode = "off";
    o.isolateSamples = false;
    o.lmWeight = 0;
    o.answerWeight = 1;
    o.auxWeight = 0;
    o.lr = 3e-3;
    o.warmupSteps = 10;
    o.schedule = "gated";
    o.decaySteps = 50;
    o.curriculumThreshold = 0.95;
    o.stopWhenLearned = true;
    o.weightDecay = 0;
    o.logEvery = 25;
    o.validEvery = 100;
    o.validSamples = 64;
    o.checkpointEvery = 0;
    o.threads = 2;
    return o;
}

std::vector<nlohmann::json> logLines(const std::string& path)
{
    std::vector<nlohmann::json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        out.push_back(nlohmann::json::parse(line));
    return out;
}

}  // namespace

class TestTrainRecall : public QObject {
    Q_OBJECT

private slots:
    void tinyModelLearnsPasskey()
    {
        QTemporaryDir tmp;
        writeBooks(tmp.path() + "/books");
        tr::TrainOptions o = recallRun(tmp.path() + "/books", tmp.path() + "/run");
        // At most this many steps; the run ends itself once the gate has passed (about
        // 1,300 steps on 2 cores: the answer loss sits at ln 10 per digit for ~600 steps,
        // then falls in a sharp transition, as the reference model's does).
        o.steps = 3000;
        const nlohmann::json s = tr::runTraining(o, [](const std::string& line) {
            if (line.rfind("valid", 0) == 0 || line.rfind("schedule", 0) == 0)
                qInfo("%s", line.c_str());
        });
        const double exact = s.value("valid_exact", 0.0);
        const int64_t steps = s["steps"].get<int64_t>();
        qInfo("learned in %lld steps (%s)", static_cast<long long>(steps), s["stopped_by"].get<std::string>().c_str());
        QVERIFY2(exact >= 0.9, qPrintable(QString("held-out exact match %1 after %2 steps").arg(exact).arg(steps)));
        // The log shows the learning: exact match from chance (0) to the end.
        const auto lines = logLines(o.outDir + "/log.jsonl");
        double firstExact = -1, lastExact = -1;
        for (const auto& j : lines)
            if (j.contains("answer_exact") && j["answer_exact"].get<double>() >= 0) {
                if (firstExact < 0)
                    firstExact = j["answer_exact"].get<double>();
                lastExact = j["answer_exact"].get<double>();
            }
        QVERIFY2(firstExact < 0.2 && lastExact > 0.8,
                 qPrintable(QString("exact match in the log %1 -> %2").arg(firstExact).arg(lastExact)));

        // Continued: --init-from the model folder goes on from its step and keeps what it learned.
        const std::string model = o.outDir + "/model";
        QVERIFY(QFile::exists(QString::fromStdString(model + "/trainer.json")));
        tr::TrainOptions more = recallRun(tmp.path() + "/books", tmp.path() + "/more");
        more.initFrom = model;
        more.steps = 20;
        more.stopWhenLearned = false;
        const nlohmann::json s2 = tr::runTraining(more, [](const std::string&) {});
        QCOMPARE(s2["steps"].get<int64_t>(), steps + 20);
        QCOMPARE(s2["steps_this_run"].get<int64_t>(), int64_t(20));
        QVERIFY2(s2.value("valid_exact", 0.0) >= 0.8, "the continued run forgot what it learned");
        std::ifstream in(more.outDir + "/model/trainer.json");
        const nlohmann::json state = nlohmann::json::parse(in);
        QCOMPARE(state["step"].get<int64_t>(), steps + 20);
        QCOMPARE(int(state["history"].size()), 2);
        QVERIFY(state["tokens_seen"].get<int64_t>() > s["tokens_seen"].get<int64_t>());
    }
};

QTEST_APPLESS_MAIN(TestTrainRecall)
#include "tst_train_recall.moc"
