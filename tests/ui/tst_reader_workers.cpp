// The reader's workers (app/reader) on their own, with a tiny random model on the CPU:
// a lane runs its jobs in order on one thread that is not the GUI thread; a reading, a
// fidelity measurement and a question stop when cancelled, and say so; what a cancelled
// reading committed is what the library holds.
#include "app/reader/fidelity_worker.h"
#include "app/reader/ingest_worker.h"
#include "app/reader/question_worker.h"
#include "app/reader/reader_model.h"
#include "app/reader/worker_lane.h"
#include "storage/database.h"
#include "storage/import/importer.h"
#include "storage/memory_store.h"
#include "ui/memory_service.h"

#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <mutex>

using namespace mm::memoryui;

namespace {
const QString kBook = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/ui/lighthouse_almanac.txt");
const QString kLongBook = QStringLiteral(MEMMAMBA_SOURCE_DIR "/resources/books/shirley.txt");
const char* kTinyConfig = R"({"d_model":32,"n_layer":4,"d_state":4,"pool_slots":8,"note_dim":16,)"
                          R"("note_chunk":16,"notes_per_chunk":4,"attn_heads":2})";
constexpr int kWaitMs = 60000;

ModelMemoryOptions tinyModel()
{
    ModelMemoryOptions o;
    o.random = true;
    o.randomConfig = QString::fromUtf8(kTinyConfig);
    o.device = QStringLiteral("cpu");
    return o;
}
}  // namespace

class TestReaderWorkers : public QObject {
    Q_OBJECT

private slots:
    void init();
    void laneRunsJobsInOrderOffTheGuiThread();
    void cancelledReadingStopsAtItsLastCheckpoint();
    void cancelledFidelityMeasurementSaysCancelled();
    void cancelledQuestionIsNeverAnswered();
    void missingModelIsReportedByTheLoader();

private:
    qint64 importBook(const QString& path);
    std::unique_ptr<QTemporaryDir> m_dir;
    QString dbPath() const { return m_dir->filePath(QStringLiteral("library.sqlite3")); }
};

void TestReaderWorkers::init()
{
    mm::ui::registerMemoryMetaTypes();
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

qint64 TestReaderWorkers::importBook(const QString& path)
{
    mm::storage::Database db(dbPath());
    return mm::import::importFile(db, path).docId;
}

void TestReaderWorkers::laneRunsJobsInOrderOffTheGuiThread()
{
    std::mutex mutex;
    QVector<int> order;
    QSet<QThread*> threads;
    {
        WorkerLane lane(QStringLiteral("test"));
        for (int i = 0; i < 100; ++i) {
            lane.post([&, i] {
                if (i == 0)
                    QThread::msleep(50);  // later jobs wait for it, not overtake it
                std::lock_guard<std::mutex> lock(mutex);
                order << i;
                threads.insert(QThread::currentThread());
            });
        }
        lane.drain();
        QCOMPARE(order.size(), 100);
    }
    for (int i = 0; i < order.size(); ++i)
        QCOMPARE(order[i], i);
    QCOMPARE(threads.size(), 1);
    QVERIFY(!threads.contains(QThread::currentThread()));
}

void TestReaderWorkers::cancelledReadingStopsAtItsLastCheckpoint()
{
    if (!QFile::exists(kLongBook))
        QSKIP("no sample book");
    const qint64 docId = importBook(kLongBook);
    QVERIFY(docId > 0);
    IngestWorker worker;
    worker.open(loadReaderModel(tinyModel()), dbPath(), false);
    QSignalSpy progress(&worker, &IngestWorker::progress);
    QSignalSpy finished(&worker, &IngestWorker::finished);
    // Cancelled on the lane, at the first progress report: well before the end.
    connect(&worker, &IngestWorker::progress, &worker, [&worker] { worker.cancel(); }, Qt::DirectConnection);
    worker.read(1, docId, 2048);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
    const QList<QVariant> result = finished.first();
    QCOMPARE(result.at(0).toLongLong(), 1);        // jobId
    QCOMPARE(result.at(1).toBool(), true);         // cancelled
    const qint64 done = result.at(2).toLongLong();
    const qint64 total = result.at(3).toLongLong();
    QCOMPARE(result.at(5).toString(), QString());  // no error
    QVERIFY2(total > 100000, qPrintable(QString::number(total)));
    QVERIFY2(done < total, qPrintable(QStringLiteral("%1 of %2").arg(done).arg(total)));
    QVERIFY(!progress.isEmpty());
    mm::storage::Database db(dbPath());
    QCOMPARE(db.document(docId)->status, QStringLiteral("reading"));
    const auto run = mm::storage::MemoryStore(db).run(docId);
    QVERIFY(run.has_value());
    QCOMPARE(run->doneTokens, done);  // what the job shows is what a resumed reading starts from
}

void TestReaderWorkers::cancelledFidelityMeasurementSaysCancelled()
{
    const qint64 docId = importBook(kBook);
    QVERIFY(docId > 0);
    FidelityWorker worker;
    worker.open(loadReaderModel(tinyModel()), dbPath());
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    QSignalSpy progress(&worker, &FidelityWorker::progress);
    QSignalSpy ready(&worker, &FidelityWorker::ready);
    QSignalSpy cancelled(&worker, &FidelityWorker::cancelled);
    QSignalSpy failed(&worker, &FidelityWorker::failed);
    connect(&worker, &FidelityWorker::progress, &worker, [cancel] { cancel->store(true); }, Qt::DirectConnection);
    mm::ui::FidelityRequest request;
    request.docId = docId;
    request.samples = 6;
    request.distances = {1, 4, 16, 64};
    request.context = 64;
    worker.measure(7, request, cancel);
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, kWaitMs);
    QCOMPARE(cancelled.first().at(0).toULongLong(), quint64(7));
    QCOMPARE(cancelled.first().at(1).toLongLong(), docId);
    QCOMPARE(ready.count(), 0);
    QCOMPARE(failed.count(), 0);
    QVERIFY(!progress.isEmpty());
    const int total = progress.last().at(3).toInt();
    QVERIFY2(progress.last().at(2).toInt() < total, "stopped before the last sample");
}

void TestReaderWorkers::cancelledQuestionIsNeverAnswered()
{
    const qint64 docId = importBook(kBook);
    QVERIFY(docId > 0);
    QuestionWorker worker;
    worker.open(loadReaderModel(tinyModel()), dbPath());
    QSignalSpy started(&worker, &QuestionWorker::answerStarted);
    QSignalSpy finished(&worker, &QuestionWorker::answerFinished);
    QSignalSpy failed(&worker, &QuestionWorker::answerFailed);
    QSignalSpy history(&worker, &QuestionWorker::historyReady);
    mm::ui::AskRequest cancelledAsk;
    cancelledAsk.askId = 1;
    cancelledAsk.docId = docId;
    cancelledAsk.question = QStringLiteral("Where was the telescope hidden?");
    cancelledAsk.scope = mm::ui::AskRequest::WholeBook;
    mm::ui::AskRequest answeredAsk = cancelledAsk;
    answeredAsk.askId = 2;
    worker.ask(cancelledAsk);
    worker.cancelAsk(1);  // the lane is still waiting for the model: cancelled before it starts
    worker.ask(answeredAsk);
    worker.requestHistory(docId);  // answered after both, on the same lane
    QTRY_COMPARE_WITH_TIMEOUT(history.count(), 1, kWaitMs);
    QCOMPARE(started.count(), 1);
    QCOMPARE(started.first().first().toLongLong(), 2);
    QCOMPARE(finished.count() + failed.count(), 1);
    if (!finished.isEmpty())
        QCOMPARE(finished.first().first().value<mm::ui::AnswerRecord>().request.askId, 2);
}

void TestReaderWorkers::missingModelIsReportedByTheLoader()
{
    ModelMemoryOptions options;
    options.modelDir = m_dir->filePath(QStringLiteral("no-model-here"));
    options.device = QStringLiteral("cpu");
    QString announced;
    QFuture<ReaderModel> future = loadReaderModel(options, [&announced](const ReaderModel& m) { announced = m.error; });
    const ReaderModel loaded = future.result();
    QVERIFY(!loaded.model);
    QVERIFY2(loaded.error.contains(QStringLiteral("config.json")), qPrintable(loaded.error));
    QCOMPARE(announced, loaded.error);  // announced before the future finished
}

QTEST_MAIN(TestReaderWorkers)
#include "tst_reader_workers.moc"
