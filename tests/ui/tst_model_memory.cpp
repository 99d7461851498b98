// The reader window against the REAL memory service (app/reader/model_memory_service.*,
// mm::memoryui::ModelMemoryService) with a tiny random model on the CPU: import a book,
// read it with the model, the memory map with the right token count, the pools at a
// position, a question answered token by token with evidence that moves the reader; quit
// and start again: the document, the position and the Q&A history come back and nothing
// is read again. An interrupted reading resumes at the next start; a memory made by
// another model is offered for re-reading; a missing model says why; a library written
// before the question-and-answer record opens with its history and memory.
//
// MEMMAMBA_SCREENSHOT_DIR=DIR: `screenshots` reads MEMMAMBA_SCREENSHOT_BOOK (default the
// sample book) with the SHIPPED model and saves the memory map, notes and ask views.
#include "app/memory/memory.h"
#include "app/reader/model_memory_service.h"
#include "engine/engine.h"
#include "engine/tokenizer/tokenizer.h"
#include "storage/database.h"
#include "storage/memory_store.h"
#include "storage/import/importer.h"
#include "ui/ask_panel.h"
#include "ui/charts_panel.h"
#include "ui/ingest_queue_model.h"
#include "ui/ingest_queue_panel.h"
#include "ui/library_service.h"
#include "ui/main_window.h"
#include "ui/memory_gate.h"
#include "ui/memory_map_panel.h"
#include "ui/memory_map_widget.h"
#include "ui/notes_panel.h"
#include "ui/pool_model.h"
#include "ui/reading_view.h"

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QFile>
#include <QLineEdit>
#include <QLineSeries>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

#include <cmath>
#include <optional>

using mm::memoryui::ModelMemoryOptions;
using mm::memoryui::ModelMemoryService;
using mm::ui::MainWindow;

namespace {
const QString kBook = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/ui/lighthouse_almanac.txt");
const QString kSentence = QStringLiteral("the brass telescope had been hidden beneath the seventh stair");
const char* kTinyConfig = R"({"d_model":32,"n_layer":4,"d_state":4,"pool_slots":8,"note_dim":16,)"
                          R"("note_chunk":16,"notes_per_chunk":4,"attn_heads":2})";
constexpr int kWaitMs = 30000;
const QStringList kDocks = {QStringLiteral("memoryMapDock"), QStringLiteral("notesDock"), QStringLiteral("askDock")};

struct Session {
    std::unique_ptr<MainWindow> window;
    ModelMemoryService* memory = nullptr;  ///< the window's child
};

Session openSession(const QString& dbPath, const ModelMemoryOptions& base)
{
    Session s;
    s.window = std::make_unique<MainWindow>(dbPath);
    s.window->resize(1300, 900);
    ModelMemoryOptions options = base;
    options.databasePath = dbPath;
    options.prepareDelayMs = 200;
    s.memory = new ModelMemoryService(options, s.window.get());
    s.window->setMemoryService(s.memory);
    QObject::connect(s.window->service(), &mm::ui::LibraryService::databaseOpened, s.memory, &ModelMemoryService::start);
    s.window->show();
    return s;
}

ModelMemoryOptions tinyModel(const char* config = kTinyConfig)
{
    ModelMemoryOptions o;
    o.random = true;
    o.randomConfig = QString::fromUtf8(config);
    o.device = QStringLiteral("cpu");
    o.checkpointEvery = 2048;
    return o;
}

qint64 tokensOf(const QString& dbPath, qint64 docId)
{
    mm::storage::Database db(dbPath);
    return qint64(mm::Tokenizer::loadDefault()->encode(db.documentText(docId).toStdString()).size());
}
}  // namespace

class TestModelMemory : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void readAskRestart();
    void libraryBeforeTheRecordShowsItsHistory();
    void interruptedReadingResumesAtStart();
    void memoryOfAnotherModelIsOfferedForRereading();
    void missingModelSaysWhy();
    void pauseResumeCancelInTheQueue();
    void poolsEqualTheMemoryModule();
    void pauseMidReadingResumesFromCheckpoint();
    void fidelityCurvesOfTheDocument();
    void screenshots();
    void chartsScreenshot();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString dbPath() const { return m_dir->filePath(QStringLiteral("library.sqlite3")); }
};

void TestModelMemory::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("MemMambaTests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_model_memory"));
    QVERIFY(QFile::exists(kBook));
}

void TestModelMemory::init()
{
    QSettings().clear();
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestModelMemory::readAskRestart()
{
    qint64 docId = 0;
    qint64 position = 0;
    const QString question = QStringLiteral("the brass telescope beneath the seventh stair?");
    mm::ui::AnswerRecord answeredRecord;  // as the panel showed it, to compare with the history
    {
        Session s = openSession(dbPath(), tinyModel());
        MainWindow* window = s.window.get();
        QVERIFY(QTest::qWaitForWindowExposed(window));
        QSignalSpy shown(window, &MainWindow::documentShown);
        QSignalSpy loaded(s.memory, &ModelMemoryService::modelReady);
        window->importFiles({kBook});
        QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
        docId = window->currentDocumentId();
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWaitMs);
        QVERIFY2(s.memory->device().name.startsWith(QStringLiteral("CPU")), qPrintable(s.memory->device().name));
        QVERIFY(s.memory->device().expectedTokensPerSecond > 0);

        // Not read yet: the docks offer to read it.
        mm::ui::MemoryGate* mapGate = window->memoryGate(QStringLiteral("memoryMapDock"));
        QTRY_VERIFY_WITH_TIMEOUT(mapGate->message().contains(QStringLiteral("Read this book with the model first")), kWaitMs);
        QVERIFY(mapGate->readButton()->isVisibleTo(mapGate));

        // Read with model: queued, progress, finished; the map arrives.
        QSignalSpy queued(s.memory, &ModelMemoryService::ingestQueued);
        QSignalSpy progress(s.memory, &ModelMemoryService::ingestProgress);
        QSignalSpy finished(s.memory, &ModelMemoryService::ingestFinished);
        QSignalSpy mapReady(s.memory, &ModelMemoryService::memoryMapReady);
        QTest::mouseClick(mapGate->readButton(), Qt::LeftButton);
        QCOMPARE(queued.count(), 1);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
        QVERIFY(progress.count() >= 1);  // at least "Running"
        const auto job = finished.first().first().value<mm::ui::IngestJob>();
        const qint64 tokens = tokensOf(dbPath(), docId);
        QVERIFY(tokens > 5000);
        QCOMPARE(job.tokensTotal, tokens);
        QCOMPARE(job.tokensDone, tokens);
        auto* queue = window->ingestQueuePanel()->model();
        QTRY_COMPARE(queue->job(0).state, mm::ui::IngestJob::Finished);

        QTRY_COMPARE_WITH_TIMEOUT(mapReady.count(), 1, kWaitMs);
        const auto data = mapReady.first().first().value<std::shared_ptr<const mm::ui::MemoryMapData>>();
        QCOMPARE(data->docId, docId);
        QCOMPARE(data->tokenCount(), tokens);
        QCOMPARE(data->layerCount, 4);
        QCOMPARE(data->poolSize, 8);
        QCOMPARE(data->importance.size(), 4);
        QCOMPARE(data->importance[0].size(), tokens);
        QCOMPARE(data->surprisal.size(), tokens);
        QVERIFY(!data->notes.isEmpty());
        QCOMPARE(data->chapters.size(), 6);
        QCOMPARE(data->textLength, window->readingView()->codePointCount());
        QTRY_VERIFY_WITH_TIMEOUT(window->memoryMapPanel()->map()->hasData(), kWaitMs);
        for (const QString& name : kDocks)
            QVERIFY(window->memoryGate(name)->isOpen());

        // The pools at a position past the sentence: full pools of every layer, each note
        // before the position, with its text.
        auto* reader = window->readingView();
        const QString text = reader->toPlainText();
        const qint64 sentence = text.indexOf(kSentence);
        QVERIFY(sentence > 0);
        QSignalSpy pools(s.memory, &ModelMemoryService::poolReady);
        reader->scrollToPosition(sentence + kSentence.size() + 400);
        position = reader->position();
        QVERIFY(position > sentence + kSentence.size());
        QTRY_VERIFY_WITH_TIMEOUT(!pools.isEmpty() && pools.last().first().value<mm::ui::PoolSnapshot>().atChar == position,
                                 kWaitMs);
        const auto snap = pools.last().first().value<mm::ui::PoolSnapshot>();
        QCOMPARE(snap.layerCount, 4);
        QCOMPARE(snap.entries.size(), 4 * 8);  // the tiny model's pools are full by then
        for (const mm::ui::PoolEntry& e : snap.entries) {
            QVERIFY(e.charEnd <= position + 1);
            QVERIFY(e.ageTokens >= 0);
            QVERIFY(!e.context.isEmpty());
            QCOMPARE(e.context.mid(e.contextTokenStart, e.contextTokenLength), text.mid(e.charStart, e.charEnd - e.charStart));
        }
        QVERIFY(!snap.evicted.isEmpty());
        QTRY_COMPARE(window->notesPanel()->model()->snapshot().atChar, position);
        // The reader settled: an ask checkpoint is prepared there in the background.
        QSignalSpy prepared(s.memory, &ModelMemoryService::prepared);
        QTRY_VERIFY_WITH_TIMEOUT(!prepared.isEmpty(), kWaitMs);
        QCOMPARE(prepared.last().at(1).toLongLong(), position);

        // Ask: streamed piece by piece, then the record with evidence before the position.
        window->dock(QStringLiteral("askDock"))->raise();
        mm::ui::AskPanel* ask = window->askPanel();
        QSignalSpy pieces(s.memory, &ModelMemoryService::answerToken);
        QSignalSpy answered(s.memory, &ModelMemoryService::answerFinished);
        ask->questionEdit()->setText(question);
        QTest::keyClick(ask->questionEdit(), Qt::Key_Return);
        QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 1, kWaitMs);
        const auto record = answered.first().first().value<mm::ui::AnswerRecord>();
        answeredRecord = record;
        // The short answer arrives as one piece; "not found" streams nothing and says so.
        QVERIFY(pieces.count() >= 1 || !record.found);
        QString streamed;
        for (const auto& piece : std::as_const(pieces))
            streamed += piece.at(1).toString();
        QCOMPARE(record.answer, streamed);
        QCOMPARE(ask->answerText(), record.found ? streamed : record.notFound);
        QCOMPARE(record.request.asOfChar, position);
        QVERIFY(record.timings.firstTokenMs >= 0 && record.timings.totalMs >= record.timings.firstTokenMs);
        QVERIFY(!record.evidence.isEmpty());
        bool passage = false;
        for (const mm::ui::AnswerEvidence& e : record.evidence) {
            QVERIFY2(e.charStart < position, "evidence lies before the asked position");
            if (e.kind == mm::ui::AnswerEvidence::Passage && e.charStart <= sentence && sentence < e.charEnd) {
                passage = true;
                QVERIFY(e.chapter.startsWith(QStringLiteral("CHAPTER")));
            }
        }
        if (!passage) {
            for (const mm::ui::AnswerEvidence& e : record.evidence)
                qWarning() << e.kind << e.charStart << e.charEnd << e.chapter << e.snippet.left(80);
            qWarning() << "sentence" << sentence << "position" << position;
        }
        QVERIFY2(passage, "the full-text evidence holds the sentence");
        QCOMPARE(ask->evidenceList()->count(), record.evidence.size());

        // A click on an evidence item: the reader highlights that passage and goes there.
        reader->scrollToPosition(0);
        QListWidgetItem* item = ask->evidenceList()->item(ask->evidenceList()->count() - 1);
        const qint64 start = item->data(Qt::UserRole + 1).toLongLong();
        const qint64 end = item->data(Qt::UserRole + 2).toLongLong();
        emit ask->evidenceList()->itemClicked(item);
        const auto selections = reader->extraSelections();
        QVERIFY2(std::any_of(selections.cbegin(), selections.cend(),
                             [&](const auto& sel) {
                                 return sel.cursor.selectionStart() == start && sel.cursor.selectionEnd() == end;
                             }),
                 "the evidence is highlighted");
        QVERIFY(reader->position() > 0 && reader->position() <= start);
        // The history is stored through the service (answers table).
        QTRY_COMPARE_WITH_TIMEOUT(window->askPanel()->historyList()->count(), 1, kWaitMs);

        // Back to the place, then quit.
        reader->scrollToPosition(position);
        QTRY_COMPARE(reader->position(), position);
        window->close();
    }
    {
        mm::storage::Database db(dbPath());
        QTRY_COMPARE_WITH_TIMEOUT(mm::storage::MemoryStore(db).answers(docId).size(), 1, kWaitMs);
        const mm::storage::AnswerRow stored = mm::storage::MemoryStore(db).answers(docId).first();
        QCOMPARE(stored.question, question);
        // The reader stores the question-and-answer record, as `memmamba ask` does.
        QCOMPARE(stored.format, 2);
        QVERIFY(stored.position > 0);
        QVERIFY(stored.chapterTitle.startsWith(QStringLiteral("CHAPTER")));
        QVERIFY(stored.model.startsWith(QStringLiteral("mm1:")));
        QVERIFY(stored.evidenceJson.contains(QStringLiteral("\"chapter_title\"")));
    }

    // Start again: "Continue reading" brings the book back at the place, with its
    // history and memory, and nothing is read again.
    Session s = openSession(dbPath(), tinyModel());
    MainWindow* window = s.window.get();
    QVERIFY(QTest::qWaitForWindowExposed(window));
    QSignalSpy shown(window, &MainWindow::documentShown);
    QSignalSpy queued(s.memory, &ModelMemoryService::ingestQueued);
    window->start();
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    QCOMPARE(window->currentDocumentId(), docId);
    QTRY_COMPARE(window->readingView()->position(), position);
    QTRY_VERIFY_WITH_TIMEOUT(window->memoryMapPanel()->map()->hasData(), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(window->askPanel()->historyList()->count(), 1, kWaitMs);
    QCOMPARE(window->askPanel()->history(docId).first().request.question, question);
    QVERIFY(!window->askPanel()->history(docId).first().evidence.isEmpty());
    // The record read back keeps the answer's verdict, confidence and support.
    const mm::ui::AnswerRecord kept = window->askPanel()->history(docId).first();
    QCOMPARE(kept.answer, answeredRecord.answer);
    QCOMPARE(kept.found, answeredRecord.found);
    QCOMPARE(kept.notFound, answeredRecord.notFound);
    QVERIFY(answeredRecord.confidence >= 0);
    QCOMPARE(kept.confidence, answeredRecord.confidence);
    QCOMPARE(kept.supportStart, answeredRecord.supportStart);
    QCOMPARE(kept.support, answeredRecord.support);
    QCOMPARE(queued.count(), 0);
    // The menu's "Continue reading" opens the same place.
    window->readingView()->scrollToPosition(0);
    shown.clear();
    window->findChild<QAction*>(QStringLiteral("continueReading"))->trigger();
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    QCOMPARE(window->currentDocumentId(), docId);
}

void TestModelMemory::libraryBeforeTheRecordShowsItsHistory()
{
    // tests/data/memory/library-v4.sqlite3: the sample almanac read by this tiny model,
    // one question asked in the reader and two with `memmamba ask`, by the code before
    // the record (tests/data/memory/README.md).
    QVERIFY(QFile::copy(QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/memory/library-v4.sqlite3"), dbPath()));
    QFile::setPermissions(dbPath(), QFile::ReadOwner | QFile::WriteOwner);
    Session s = openSession(dbPath(), tinyModel());
    MainWindow* window = s.window.get();
    QVERIFY(QTest::qWaitForWindowExposed(window));
    QSignalSpy shown(window, &MainWindow::documentShown);
    QSignalSpy queued(s.memory, &ModelMemoryService::ingestQueued);
    window->start();
    window->openDocument(1);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), kWaitMs);
    QCOMPARE(window->currentDocumentId(), qint64(1));
    QTRY_VERIFY_WITH_TIMEOUT(window->memoryMapPanel()->map()->hasData(), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(window->askPanel()->historyList()->count(), 3, kWaitMs);
    const QVector<mm::ui::AnswerRecord> history = window->askPanel()->history(1);
    QCOMPARE(history.size(), 3);
    QCOMPARE(history[0].request.question, QStringLiteral("Where was the brass telescope hidden?"));
    QCOMPARE(history[0].request.scope, mm::ui::AskRequest::AsOfPosition);
    QCOMPARE(history[1].request.question, QStringLiteral("Who kept the lighthouse?"));
    QCOMPARE(history[1].request.asOfChar, qint64(9000));
    QCOMPARE(history[2].request.scope, mm::ui::AskRequest::WholeBook);
    for (const mm::ui::AnswerRecord& r : history) {
        QVERIFY(r.finished);
        QVERIFY(!r.answer.isEmpty());
        QVERIFY(!r.evidence.isEmpty());
        // Chapters as titles in both the reader's and the command line's answers.
        for (const mm::ui::AnswerEvidence& e : r.evidence)
            QVERIFY2(e.chapter.startsWith(QStringLiteral("CHAPTER")) || e.charStart < 50, qPrintable(e.chapter));
    }
    QCOMPARE(queued.count(), 0);  // nothing is read again
}

void TestModelMemory::fidelityCurvesOfTheDocument()
{
    Session s = openSession(dbPath(), tinyModel());
    MainWindow* window = s.window.get();
    QVERIFY(QTest::qWaitForWindowExposed(window));
    QSignalSpy shown(window, &MainWindow::documentShown);
    QSignalSpy loaded(s.memory, &ModelMemoryService::modelReady);
    window->importFiles({kBook});
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    const qint64 docId = window->currentDocumentId();
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWaitMs);
    const qint64 tokens = tokensOf(dbPath(), docId);
    QVERIFY(tokens > 256 + 4096 + 1);  // every default distance fits

    // Read it; the Charts dock draws the stored surprisal and, once its tab is shown,
    // asks the service to measure the fidelity curves on the book's own text.
    QSignalSpy progress(s.memory, &ModelMemoryService::fidelityProgress);
    QSignalSpy ready(s.memory, &ModelMemoryService::fidelityReady);
    window->readOpenDocumentWithModel();
    mm::ui::ChartsPanel* panel = window->chartsPanel();
    QTRY_VERIFY_WITH_TIMEOUT(panel->isChartShown(mm::ui::ChartsPanel::Perplexity), kWaitMs);
    QCOMPARE(panel->perplexitySeries()->count(), mm::ui::ChartsPanel::kPerplexityBins);
    QCOMPARE(ready.count(), 0);
    window->dock(QStringLiteral("chartsDock"))->raise();
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 4 * kWaitMs);
    const auto curves = ready.first().first().value<mm::ui::FidelityCurves>();
    QCOMPARE(curves.docId, docId);
    QCOMPARE(curves.layerCount, 4);
    QCOMPARE(curves.samples, 4);
    QCOMPARE(curves.context, qint64(256));
    QCOMPARE(curves.documentTokens, tokens);
    QCOMPARE(curves.distances, (QVector<qint64>{1, 4, 16, 64, 256, 1024, 4096}));
    QCOMPARE(curves.etmf.size(), 4);
    QCOMPARE(curves.etmfNoPool.size(), 4);
    for (const auto* variant : {&curves.etmf, &curves.etmfNoPool}) {
        for (const QVector<double>& layer : *variant) {
            QCOMPARE(layer.size(), 7);
            for (double x : layer)
                QVERIFY2(std::isfinite(x) && x >= 0 && x <= 2, qPrintable(QString::number(x)));  // 1 - cos
        }
    }
    // The changed token leaves a trace at distance 1 in every layer.
    for (const QVector<double>& layer : curves.etmf)
        QVERIFY(layer.first() > 0);
    // Progress after each sample: 4 samples, with and without the pools.
    QVERIFY(progress.count() >= 8);
    QCOMPARE(progress.last().at(1).toInt(), 8);
    QCOMPARE(progress.last().at(2).toInt(), 8);
    QTRY_VERIFY(panel->isChartShown(mm::ui::ChartsPanel::Fidelity));
    QCOMPARE(panel->fidelitySeries(3)->count(), 7);
    QCOMPARE(panel->fidelitySeries(3)->at(6).y(), curves.etmf[3][6]);

    // Asked again: the kept result, at once.
    s.memory->requestFidelity({docId});
    QTRY_COMPARE(ready.count(), 2);
    QCOMPARE(ready.last().first().value<mm::ui::FidelityCurves>().etmf, curves.etmf);

    // Another document, cancelled as it starts: fidelityCancelled, nothing kept.
    const QString copy = m_dir->filePath(QStringLiteral("almanac-copy.txt"));
    {
        QFile in(kBook);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QFile out(copy);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(in.readAll() + "\nA line more, so this is another document.\n");
    }
    shown.clear();
    window->importFiles({copy});
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    const qint64 other = window->currentDocumentId();
    QVERIFY(other != docId);
    QSignalSpy cancelled(s.memory, &ModelMemoryService::fidelityCancelled);
    mm::ui::FidelityRequest request;
    request.docId = other;
    s.memory->requestFidelity(request);
    s.memory->cancelFidelity(other);
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, kWaitMs);
    QCOMPARE(cancelled.first().first().toLongLong(), other);
    QCOMPARE(ready.count(), 2);
    // A short document: only the distances its excerpts can hold (context 256 + d + 1).
    const QString shortBook = m_dir->filePath(QStringLiteral("short.txt"));
    {
        QFile in(kBook);
        QVERIFY(in.open(QIODevice::ReadOnly));
        QFile out(shortBook);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(in.read(3000));
    }
    shown.clear();
    window->importFiles({shortBook});
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    request.docId = window->currentDocumentId();
    const qint64 shortTokens = tokensOf(dbPath(), request.docId);
    QVERIFY(shortTokens > 256 + 64 + 1 && shortTokens < 256 + 4096 + 1);
    QVector<qint64> fitting;
    for (qint64 d : request.distances) {
        if (256 + d + 1 <= shortTokens)
            fitting << d;
    }
    request.withAblation = false;
    request.samples = 2;
    s.memory->requestFidelity(request);
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 3, kWaitMs);
    const auto shortCurves = ready.last().first().value<mm::ui::FidelityCurves>();
    QCOMPARE(shortCurves.docId, request.docId);
    QCOMPARE(shortCurves.distances, fitting);
    QCOMPARE(shortCurves.samples, 2);
    QVERIFY(shortCurves.etmfNoPool.isEmpty());
    QCOMPARE(shortCurves.etmf.size(), 4);
    QCOMPARE(shortCurves.etmf[0].size(), fitting.size());
}

void TestModelMemory::interruptedReadingResumesAtStart()
{
    // A reading stopped after its first checkpoint (as a quit or a crash leaves it).
    qint64 docId = 0;
    qint64 committed = 0;
    {
        mm::storage::Database db(dbPath());
        docId = mm::import::importFile(db, kBook).docId;
        const auto model = mm::Model::createRandom(kTinyConfig, 0, "cpu");
        const auto tokenizer = mm::Tokenizer::loadDefault();
        mm::memory::DocumentMemory memory(db, *model, *tokenizer);
        std::atomic<bool> stop{false};
        mm::memory::IngestOptions options;
        options.checkpointEvery = 2048;
        options.segmentTokens = 256;
        options.cancel = &stop;
        options.onProgress = [&](const mm::memory::IngestProgress& p) {
            if (p.committed > 0)
                stop = true;
        };
        const auto r = memory.ingest(docId, options);
        QVERIFY(r.cancelled);
        QCOMPARE(memory.status(docId).state, mm::memory::MemoryState::Reading);
        committed = memory.status(docId).doneTokens;
        QVERIFY(committed > 0 && committed < r.tokens);
    }
    Session s = openSession(dbPath(), tinyModel());
    QSignalSpy queued(s.memory, &ModelMemoryService::ingestQueued);
    QSignalSpy finished(s.memory, &ModelMemoryService::ingestFinished);
    s.window->start({kBook});  // already in the library: just opened
    QTRY_COMPARE_WITH_TIMEOUT(queued.count(), 1, kWaitMs);
    QCOMPARE(queued.first().first().value<mm::ui::IngestJob>().docId, docId);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
    QCOMPARE(finished.first().first().value<mm::ui::IngestJob>().tokensTotal, tokensOf(dbPath(), docId));
    QTRY_VERIFY_WITH_TIMEOUT(s.window->memoryMapPanel()->map()->hasData(), kWaitMs);
}

void TestModelMemory::memoryOfAnotherModelIsOfferedForRereading()
{
    qint64 docId = 0;
    {
        mm::storage::Database db(dbPath());
        docId = mm::import::importFile(db, kBook).docId;
        const auto model = mm::Model::createRandom(kTinyConfig, 0, "cpu");
        const auto tokenizer = mm::Tokenizer::loadDefault();
        mm::memory::DocumentMemory(db, *model, *tokenizer).ingest(docId);
    }
    // Another model (a different config): the memory is stale, the docks say so and
    // offer to read the book again; reading it replaces the old memory.
    const char* other = R"({"d_model":48,"n_layer":2,"d_state":4,"pool_slots":8,"note_dim":16,)"
                        R"("note_chunk":16,"notes_per_chunk":4,"attn_heads":2})";
    Session s = openSession(dbPath(), tinyModel(other));
    QSignalSpy unavailable(s.memory, &ModelMemoryService::memoryUnavailable);
    s.window->start({kBook});
    mm::ui::MemoryGate* gate = s.window->memoryGate(QStringLiteral("memoryMapDock"));
    QTRY_VERIFY_WITH_TIMEOUT(gate->message().contains(QStringLiteral("another model")), kWaitMs);
    QVERIFY(gate->readButton()->isVisibleTo(gate));
    QSignalSpy finished(s.memory, &ModelMemoryService::ingestFinished);
    QTest::mouseClick(gate->readButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(s.window->memoryMapPanel()->map()->hasData(), kWaitMs);
    QCOMPARE(s.window->memoryMapPanel()->layerCount(), 2);
}

void TestModelMemory::missingModelSaysWhy()
{
    ModelMemoryOptions options;
    options.modelDir = m_dir->filePath(QStringLiteral("no-such-model"));
    options.device = QStringLiteral("cpu");
    Session s = openSession(dbPath(), options);
    QSignalSpy failed(s.memory, &ModelMemoryService::modelFailed);
    QSignalSpy ingestFailed(s.memory, &ModelMemoryService::ingestFailed);
    s.window->start({kBook});
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kWaitMs);
    QVERIFY2(failed.first().first().toString().contains(QStringLiteral("config.json")),
             qPrintable(failed.first().first().toString()));
    mm::ui::MemoryGate* gate = s.window->memoryGate(QStringLiteral("memoryMapDock"));
    QTRY_VERIFY_WITH_TIMEOUT(gate->message().contains(QStringLiteral("could not be loaded")), kWaitMs);
    s.window->readOpenDocumentWithModel();
    QTRY_COMPARE(ingestFailed.count(), 1);
    QVERIFY(ingestFailed.first().at(1).toString().contains(QStringLiteral("no-such-model")));
}

void TestModelMemory::pauseResumeCancelInTheQueue()
{
    const QString second = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/harbour_wall.txt");
    const QString third = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/lanterns.txt");
    QVector<qint64> docs;
    {
        mm::storage::Database db(dbPath());
        for (const QString& f : {kBook, second, third})
            docs << mm::import::importFile(db, f).docId;
    }
    Session s = openSession(dbPath(), tinyModel());
    QSignalSpy loaded(s.memory, &ModelMemoryService::modelReady);
    s.window->start();
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kWaitMs);
    QSignalSpy queued(s.memory, &ModelMemoryService::ingestQueued);
    QSignalSpy finished(s.memory, &ModelMemoryService::ingestFinished);
    QSignalSpy cancelled(s.memory, &ModelMemoryService::ingestCancelled);
    // Three books queued at once: the first runs, the second is paused while it waits,
    // the third is cancelled before it starts.
    s.memory->enqueue(docs[0], QStringLiteral("one"));
    s.memory->enqueue(docs[1], QStringLiteral("two"));
    s.memory->enqueue(docs[2], QStringLiteral("three"));
    s.memory->enqueue(docs[1], QStringLiteral("two"));  // announced again, not queued twice
    QCOMPARE(queued.count(), 4);
    QCOMPARE(s.memory->jobs().size(), 3);
    const qint64 pausedJob = s.memory->jobs()[1].jobId;
    s.memory->pause(pausedJob);
    QCOMPARE(s.memory->jobs()[1].state, mm::ui::IngestJob::Paused);
    s.memory->cancel(s.memory->jobs()[2].jobId);
    QCOMPARE(cancelled.count(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
    QTest::qWait(300);
    QCOMPARE(finished.count(), 1);  // the paused one waits
    QCOMPARE(s.memory->jobs()[1].state, mm::ui::IngestJob::Paused);
    s.memory->resume(pausedJob);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kWaitMs);
    QCOMPARE(finished.last().first().value<mm::ui::IngestJob>().docId, docs[1]);
    QCOMPARE(s.memory->jobs()[2].state, mm::ui::IngestJob::Cancelled);
    mm::storage::Database db(dbPath());
    QCOMPARE(db.document(docs[2])->status, QStringLiteral("imported"));  // never read
    QCOMPARE(db.document(docs[1])->status, QStringLiteral("ready"));
}

void TestModelMemory::poolsEqualTheMemoryModule()
{
    // The service rebuilds pools from the map's note events (fast); they must equal
    // DocumentMemory::notes (the reference, from the stored blocks) exactly.
    qint64 docId = 0;
    mm::storage::Database db(dbPath());
    docId = mm::import::importFile(db, kBook).docId;
    const auto model = mm::Model::createRandom(kTinyConfig, 0, "cpu");
    const auto tokenizer = mm::Tokenizer::loadDefault();
    mm::memory::DocumentMemory reference(db, *model, *tokenizer);
    reference.ingest(docId);
    const qint64 length = db.document(docId)->characters;
    Session s = openSession(dbPath(), tinyModel());
    s.window->start({kBook});  // already in the library: opened
    QTRY_VERIFY_WITH_TIMEOUT(s.window->memoryMapPanel()->map()->hasData(), kWaitMs);
    QSignalSpy pools(s.memory, &ModelMemoryService::poolReady);
    // The window asks for the pool at its reader's position too (MemoryDocks), and a newer
    // request supersedes an older one still queued: ask until the answer is for `at`.
    auto snapshotAt = [&](qint64 at) -> std::optional<mm::ui::PoolSnapshot> {
        std::optional<mm::ui::PoolSnapshot> last;
        for (int attempt = 0; attempt < 5; ++attempt) {
            pools.clear();
            s.memory->requestPool(docId, at);
            if (!QTest::qWaitFor([&] { return !pools.isEmpty(); }, kWaitMs))
                break;
            QTest::qWait(50);  // an answer to our request may follow the window's
            for (const QList<QVariant>& args : std::as_const(pools)) {
                last = args.first().value<mm::ui::PoolSnapshot>();
                if (last->atChar == at)
                    return last;
            }
        }
        return last;
    };
    for (const qint64 at : {qint64(0), qint64(1), qint64(700), length / 3, length / 2 + 17, length - 1, length}) {
        const std::optional<mm::ui::PoolSnapshot> answer = snapshotAt(at);
        QVERIFY2(answer, qPrintable(QStringLiteral("no pool came for position %1").arg(at)));
        const mm::ui::PoolSnapshot& snap = *answer;
        QCOMPARE(snap.atChar, at);
        int entries = 0, evicted = 0;
        for (int layer = 0; layer < 4; ++layer) {
            const mm::memory::NotesView view = reference.notes(docId, layer, at);
            QCOMPARE(snap.atToken, view.position);
            for (const mm::memory::PoolNote& n : view.entries) {
                const auto it = std::find_if(snap.entries.cbegin(), snap.entries.cend(), [&](const mm::ui::PoolEntry& e) {
                    return e.layer == layer && e.slot == n.slot;
                });
                QVERIFY2(it != snap.entries.cend(), qPrintable(QStringLiteral("at %1 layer %2 slot %3 position %4 inserted %5")
                                                                    .arg(at).arg(layer).arg(n.slot).arg(n.position).arg(n.insertedAt)));
                QCOMPARE(it->tokenPosition, n.position);
                QCOMPARE(it->score, n.score);
                QCOMPARE(it->charStart, n.charStart);
                QCOMPARE(it->charEnd, n.charEnd);
                QCOMPARE(it->context, QString::fromStdString(n.context));
                ++entries;
            }
            for (const mm::memory::PoolNote& n : view.evicted) {
                const bool found = std::any_of(snap.evicted.cbegin(), snap.evicted.cend(), [&](const mm::ui::EvictedNote& e) {
                    return e.layer == layer && e.tokenPosition == n.position && e.evictedAtToken == n.evictedAt;
                });
                QVERIFY(found);
                ++evicted;
            }
        }
        QCOMPARE(snap.entries.size(), entries);
        QCOMPARE(snap.evicted.size(), evicted);
    }
}

void TestModelMemory::pauseMidReadingResumesFromCheckpoint()
{
    // The sample book (about 200k tokens): long enough to pause the tiny model mid-way.
    const QString book = QStringLiteral(MEMMAMBA_SOURCE_DIR "/resources/books/shirley.txt");
    if (!QFile::exists(book))
        QSKIP("no sample book");
    Session s = openSession(dbPath(), tinyModel());
    QSignalSpy shown(s.window.get(), &MainWindow::documentShown);
    s.window->start({book});
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(s.memory->isModelReady(), kWaitMs);
    const qint64 docId = s.window->currentDocumentId();
    QSignalSpy progress(s.memory, &ModelMemoryService::ingestProgress);
    QSignalSpy finished(s.memory, &ModelMemoryService::ingestFinished);
    s.window->readOpenDocumentWithModel();
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty() && progress.last().first().value<mm::ui::IngestJob>().tokensDone > 0,
                             kWaitMs);
    const qint64 jobId = s.memory->jobs().first().jobId;
    s.memory->pause(jobId);
    QCOMPARE(s.memory->jobs().first().state, mm::ui::IngestJob::Paused);
    // The worker stops after its segment and reports where reading will resume.
    progress.clear();
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty(), kWaitMs);
    QTest::qWait(200);
    QCOMPARE(finished.count(), 0);
    const mm::ui::IngestJob paused = s.memory->jobs().first();
    QCOMPARE(paused.state, mm::ui::IngestJob::Paused);
    QVERIFY(paused.tokensDone < paused.tokensTotal);
    {
        mm::storage::Database db(dbPath());
        QCOMPARE(db.document(docId)->status, QStringLiteral("reading"));
        const auto run = mm::storage::MemoryStore(db).run(docId);
        QVERIFY(run.has_value());
        QCOMPARE(run->doneTokens, paused.tokensDone);
    }
    s.memory->resume(jobId);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    QCOMPARE(finished.first().first().value<mm::ui::IngestJob>().tokensDone, paused.tokensTotal);
    QTRY_VERIFY_WITH_TIMEOUT(s.window->memoryMapPanel()->map()->hasData(), kWaitMs);
}

void TestModelMemory::screenshots()
{
    const QString dir = qEnvironmentVariable("MEMMAMBA_SCREENSHOT_DIR");
    if (dir.isEmpty())
        QSKIP("MEMMAMBA_SCREENSHOT_DIR not set");
    QString book = qEnvironmentVariable("MEMMAMBA_SCREENSHOT_BOOK");
    if (book.isEmpty())
        book = QStringLiteral(MEMMAMBA_SOURCE_DIR "/resources/books/shirley.txt");
    const QString question = qEnvironmentVariableIsSet("MEMMAMBA_SCREENSHOT_QUESTION")
                                 ? qEnvironmentVariable("MEMMAMBA_SCREENSHOT_QUESTION")
                                 : QStringLiteral("Who is Mr. Malone?");
    ModelMemoryOptions options;  // the shipped model
    options.device = QStringLiteral("cpu");
    Session s = openSession(dbPath(), options);
    MainWindow* window = s.window.get();
    window->resize(1500, 950);
    QVERIFY(QTest::qWaitForWindowExposed(window));
    QSignalSpy shown(window, &MainWindow::documentShown);
    window->start({book});
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    QSignalSpy finished(s.memory, &ModelMemoryService::ingestFinished);
    QTRY_VERIFY_WITH_TIMEOUT(s.memory->isModelReady(), 60000);
    QSignalSpy progress(s.memory, &ModelMemoryService::ingestProgress);
    window->readOpenDocumentWithModel();
    // The reading queue a while in: speed, time left, Pause and Cancel.
    QTRY_VERIFY_WITH_TIMEOUT(!progress.isEmpty()
                                 && progress.last().first().value<mm::ui::IngestJob>().tokensDone * 5
                                        > progress.last().first().value<mm::ui::IngestJob>().tokensTotal,
                             900000);
    QTest::qWait(300);
    QVERIFY(window->grab().save(dir + QStringLiteral("/model-reading.png")));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 900000);
    QTRY_VERIFY_WITH_TIMEOUT(window->memoryMapPanel()->map()->hasData(), 60000);
    window->dock(QStringLiteral("ingestDock"))->hide();
    // Somewhere in the middle of the book, where the curates have been met.
    auto* reader = window->readingView();
    const QString text = reader->toPlainText();
    const QString chapter = qEnvironmentVariableIsSet("MEMMAMBA_SCREENSHOT_CHAPTER")
                                ? qEnvironmentVariable("MEMMAMBA_SCREENSHOT_CHAPTER")
                                : QStringLiteral("CHAPTER III.");
    window->resizeDocks({window->dock(QStringLiteral("askDock"))}, {560}, Qt::Horizontal);
    QTest::qWait(200);
    qint64 at = text.indexOf(chapter);
    at = at > 0 ? at + 3000 : text.size() / 2;
    QSignalSpy pools(s.memory, &ModelMemoryService::poolReady);
    QSignalSpy prepared(s.memory, &ModelMemoryService::prepared);
    reader->scrollToPosition(at);
    at = reader->position();
    QTRY_VERIFY_WITH_TIMEOUT(!pools.isEmpty(), 60000);
    // The reader settles; the ask checkpoint is prepared there before the question.
    QTRY_VERIFY_WITH_TIMEOUT(!prepared.isEmpty(), 120000);
    window->memoryMapPanel()->map()->zoomToWholeBook();

    window->dock(QStringLiteral("askDock"))->raise();
    mm::ui::AskPanel* ask = window->askPanel();
    QSignalSpy answered(s.memory, &ModelMemoryService::answerFinished);
    ask->questionEdit()->setText(question);
    QTest::keyClick(ask->questionEdit(), Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 1, 120000);
    QTRY_VERIFY(ask->evidenceList()->count() > 0);
    emit ask->evidenceList()->itemClicked(ask->evidenceList()->item(0));
    QTest::qWait(500);
    QVERIFY(window->grab().save(dir + QStringLiteral("/model-ask.png")));

    // The notes at the reading position, with what the answer read ("Read").
    reader->scrollToPosition(at);
    window->dock(QStringLiteral("notesDock"))->raise();
    QTest::qWait(2000);
    QVERIFY(window->grab().save(dir + QStringLiteral("/model-notes.png")));
    qInfo("answer: %s", qPrintable(answered.first().first().value<mm::ui::AnswerRecord>().answer));

    // The memory map, taller, zoomed to the page around the reading position.
    QDockWidget* mapDock = window->dock(QStringLiteral("memoryMapDock"));
    mapDock->raise();
    window->resizeDocks({mapDock}, {460}, Qt::Vertical);
    window->memoryMapPanel()->map()->setFocus();
    QTest::keyClick(window->memoryMapPanel()->map(), Qt::Key_Period);
    QTest::qWait(500);
    QVERIFY(window->grab().save(dir + QStringLiteral("/model-memory-map-page.png")));
    window->memoryMapPanel()->map()->zoomToWholeBook();
    QTest::qWait(500);
    QVERIFY(window->grab().save(dir + QStringLiteral("/model-memory-map.png")));
}

void TestModelMemory::chartsScreenshot()
{
    // The Charts dock after the shipped model has read the book: model-charts.png, and
    // each chart exported as the Export PNG… button does (chart-perplexity.png,
    // chart-fidelity.png).
    const QString dir = qEnvironmentVariable("MEMMAMBA_SCREENSHOT_DIR");
    if (dir.isEmpty())
        QSKIP("MEMMAMBA_SCREENSHOT_DIR not set");
    QString book = qEnvironmentVariable("MEMMAMBA_SCREENSHOT_BOOK");
    if (book.isEmpty())
        book = QStringLiteral(MEMMAMBA_SOURCE_DIR "/resources/books/shirley.txt");
    ModelMemoryOptions options;  // the shipped model
    options.device = QStringLiteral("cpu");
    Session s = openSession(dbPath(), options);
    MainWindow* window = s.window.get();
    window->resize(1500, 950);
    QVERIFY(QTest::qWaitForWindowExposed(window));
    QSignalSpy shown(window, &MainWindow::documentShown);
    window->start({book});
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    QSignalSpy finished(s.memory, &ModelMemoryService::ingestFinished);
    QTRY_VERIFY_WITH_TIMEOUT(s.memory->isModelReady(), 60000);
    window->readOpenDocumentWithModel();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 900000);
    QTRY_VERIFY_WITH_TIMEOUT(window->memoryMapPanel()->map()->hasData(), 60000);
    window->dock(QStringLiteral("ingestDock"))->hide();
    const QString text = window->readingView()->toPlainText();
    const QString chapter = qEnvironmentVariableIsSet("MEMMAMBA_SCREENSHOT_CHAPTER")
                                ? qEnvironmentVariable("MEMMAMBA_SCREENSHOT_CHAPTER")
                                : QStringLiteral("CHAPTER III.");
    const qint64 at = text.indexOf(chapter);
    window->readingView()->scrollToPosition(at > 0 ? at + 3000 : text.size() / 2);

    QSignalSpy ready(s.memory, &ModelMemoryService::fidelityReady);
    QDockWidget* charts = window->dock(QStringLiteral("chartsDock"));
    charts->raise();
    window->resizeDocks({charts}, {440}, Qt::Vertical);
    mm::ui::ChartsPanel* panel = window->chartsPanel();
    QTRY_VERIFY_WITH_TIMEOUT(panel->isMeasuringFidelity(), kWaitMs);
    QTest::qWait(3000);
    QVERIFY(window->grab().save(dir + QStringLiteral("/model-charts-measuring.png")));
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 600000);
    const auto curves = ready.first().first().value<mm::ui::FidelityCurves>();
    qInfo("fidelity: %d samples, %.1f s", curves.samples, curves.seconds);
    for (int l = 0; l < curves.etmf.size(); ++l) {
        QStringList row, noPool;
        for (double x : curves.etmf[l])
            row << QString::number(x, 'g', 3);
        for (double x : curves.etmfNoPool.value(l))
            noPool << QString::number(x, 'g', 3);
        qInfo("layer %d: %s | no pool: %s", l, qPrintable(row.join(QLatin1Char(' '))),
              qPrintable(noPool.join(QLatin1Char(' '))));
    }
    // The first and the last layer: fewer curves, easier to read.
    for (int l = 1; l + 1 < window->memoryMapPanel()->layerCount(); ++l)
        window->memoryMapPanel()->layerButton(l)->click();
    QTest::qWait(500);
    QVERIFY(window->grab().save(dir + QStringLiteral("/model-charts.png")));
    QVERIFY(panel->exportPng(mm::ui::ChartsPanel::Perplexity, dir + QStringLiteral("/chart-perplexity.png")).isEmpty());
    QVERIFY(panel->exportPng(mm::ui::ChartsPanel::Fidelity, dir + QStringLiteral("/chart-fidelity.png")).isEmpty());
}

QTEST_MAIN(TestModelMemory)
#include "tst_model_memory.moc"
