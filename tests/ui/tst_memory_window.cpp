// The memory docks inside the reader window, driven as a user would, against a real
// temporary library and the scripted FakeMemoryService: the "read this book first"
// state, Read with model → the reading queue → the memory map appears; a click on the
// map moves the reader; the pool's notes are marked in the text; an answer's evidence
// is a click away; layer selection and dock layout survive a restart.
#include "fake_memory_service.h"
#include "synthetic_memory.h"
#include "ui/ask_panel.h"
#include "ui/ingest_queue_model.h"
#include "ui/ingest_queue_panel.h"
#include "ui/library_model.h"
#include "ui/library_panel.h"
#include "ui/main_window.h"
#include "ui/memory_gate.h"
#include "ui/memory_map_panel.h"
#include "ui/memory_map_widget.h"
#include "ui/notes_panel.h"
#include "ui/pool_model.h"
#include "ui/reading_view.h"

#include <QAction>
#include <QDockWidget>
#include <QFile>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

using mm::test::FakeMemoryService;
using mm::ui::MainWindow;

namespace {
const QString kBook = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/ui/lighthouse_almanac.txt");
const QString kSentence = QStringLiteral("the brass telescope had been hidden beneath the seventh stair");
constexpr int kWaitMs = 20000;
const QStringList kDocks = {QStringLiteral("memoryMapDock"), QStringLiteral("notesDock"), QStringLiteral("askDock")};

std::unique_ptr<MainWindow> openWindow(const QString& dbPath)
{
    auto window = std::make_unique<MainWindow>(dbPath);
    window->resize(1300, 900);
    window->show();
    return window;
}

mm::test::SyntheticBook bookOf(MainWindow& window)
{
    const QString text = window.readingView()->toPlainText();  // reflow keeps offsets
    QVector<mm::ui::MemoryChapterMark> chapters;
    const QRegularExpression heading(QStringLiteral("CHAPTER [IVX]+[^\\n]*"));
    auto it = heading.globalMatch(text);
    while (it.hasNext()) {
        const auto m = it.next();
        chapters.push_back({m.capturedStart(), m.captured().simplified()});
    }
    return mm::test::bookFromText(text, window.currentDocumentId(), 4, chapters);
}
}  // namespace

class TestMemoryWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void withoutServiceTheDocksSaySo();
    void readExploreAskRestart();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString dbPath() const { return m_dir->filePath(QStringLiteral("library.sqlite3")); }
};

void TestMemoryWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("MemMambaTests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_memory_window"));
    QVERIFY(QFile::exists(kBook));
}

void TestMemoryWindow::init()
{
    QSettings().clear();
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestMemoryWindow::withoutServiceTheDocksSaySo()
{
    auto window = openWindow(dbPath());
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QSignalSpy shown(window.get(), &MainWindow::documentShown);
    window->importFiles({kBook});
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    for (const QString& name : kDocks) {
        QVERIFY2(window->dock(name), qPrintable(name));
        mm::ui::MemoryGate* gate = window->memoryGate(name);
        QVERIFY(gate);
        QVERIFY(!gate->isOpen());
        QVERIFY2(gate->message().contains(QStringLiteral("not available")), qPrintable(gate->message()));
        QVERIFY(!gate->readButton()->isVisibleTo(gate));
    }
    QVERIFY(!window->findChild<QAction*>(QStringLiteral("readWithModel"))->isEnabled());
    QVERIFY(window->dock(QStringLiteral("ingestDock"))->isHidden());
}

void TestMemoryWindow::readExploreAskRestart()
{
    FakeMemoryService fake;  // outlives the windows
    qint64 docId = 0;
    {
        auto window = openWindow(dbPath());
        QVERIFY(QTest::qWaitForWindowExposed(window.get()));
        window->setMemoryService(&fake);
        QSignalSpy shown(window.get(), &MainWindow::documentShown);
        window->importFiles({kBook});
        QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
        docId = window->currentDocumentId();
        const auto book = bookOf(*window);
        QVERIFY(book.data->tokenCount() > 500);
        fake.addBook(docId, book, false);

        // Not read yet: every memory dock says so and offers to read it.
        mm::ui::MemoryGate* mapGate = window->memoryGate(QStringLiteral("memoryMapDock"));
        QTRY_VERIFY_WITH_TIMEOUT(mapGate->message().contains(QStringLiteral("Read this book with the model first")), kWaitMs);
        for (const QString& name : kDocks)
            QVERIFY(window->memoryGate(name)->readButton()->isVisibleTo(window->memoryGate(name)));
        QVERIFY(window->findChild<QAction*>(QStringLiteral("readWithModel"))->isEnabled());

        // Read with model: the queue shows the job; the docks follow its progress.
        QTest::mouseClick(mapGate->readButton(), Qt::LeftButton);
        QVERIFY(window->dock(QStringLiteral("ingestDock"))->isVisible());
        auto* queue = window->ingestQueuePanel()->model();
        QTRY_COMPARE(queue->rowCount(), 1);
        QCOMPARE(queue->job(0).docId, docId);
        QVERIFY(window->ingestQueuePanel()->statusText().contains(QStringLiteral("CPU (fake")));
        fake.step(book.data->tokenCount() / 2);
        QTRY_VERIFY(mapGate->message().contains(QStringLiteral("reading this book (50%)")));
        fake.step(book.data->tokenCount());
        QTRY_COMPARE(queue->job(0).state, mm::ui::IngestJob::Finished);

        // The memory arrives: the map (indexed off the GUI thread), then the pools.
        mm::ui::MemoryMapWidget* map = window->memoryMapPanel()->map();
        QTRY_VERIFY_WITH_TIMEOUT(map->hasData(), kWaitMs);
        for (const QString& name : kDocks)
            QVERIFY(window->memoryGate(name)->isOpen());
        QCOMPARE(window->memoryMapPanel()->layerCount(), 4);
        QTRY_COMPARE(window->notesPanel()->model()->rowCount(), 4);
        QVERIFY(window->readingView()->pooledMarks().isEmpty());  // at the start nothing is noted yet
        window->readingView()->scrollToPosition(window->readingView()->codePointCount() / 2);
        QTRY_VERIFY(!window->readingView()->pooledMarks().isEmpty());
        QCOMPARE(map->poolTokens().size(), window->notesPanel()->model()->snapshot().entries.size());
        QVERIFY(window->notesPanel()->headline().contains(QStringLiteral("held")));

        // A click on the map moves the reader to that token.
        window->dock(QStringLiteral("memoryMapDock"))->raise();
        QTRY_VERIFY(map->isVisible() && map->plotRect().width() > 100);
        const auto cells = map->visibleCells();
        const auto cell = cells[cells.size() * 2 / 3];
        const qint64 target = book.data->tokenChars[cell.tokenBegin];
        QTest::mouseClick(map, Qt::LeftButton, {}, QPoint(map->plotRect().left() + cell.x0, map->layerRect(1).center().y()));
        auto* reader = window->readingView();
        QCOMPARE(reader->cursorPosition(), target);
        QVERIFY(reader->position() <= target);
        QTextCursor at(reader->document());
        at.setPosition(int(target));
        QVERIFY2(reader->viewport()->rect().contains(reader->cursorRect(at).center()), "the token is on screen");
        // The reader moved: the map marks it, the pools follow (debounced).
        QCOMPARE(map->readingPosition(), reader->position());
        const int poolRequests = fake.poolRequests.size();
        QTRY_VERIFY(fake.poolRequests.size() > poolRequests);
        QCOMPARE(fake.poolRequests.last(), reader->position());

        // Ask: the answer streams into the ask panel; its evidence jumps and highlights.
        const QString text = reader->toPlainText();
        const qint64 sentence = text.indexOf(kSentence);
        QVERIFY(sentence > 0);
        mm::ui::AnswerEvidence evidence;
        evidence.charStart = sentence;
        evidence.charEnd = sentence + kSentence.size();
        evidence.chapter = QStringLiteral("CHAPTER IV");
        evidence.snippet = kSentence;
        evidence.weight = 1;
        fake.setAnswer({QStringLiteral("Beneath"), QStringLiteral(" the"), QStringLiteral(" seventh stair.")}, {evidence});
        window->dock(QStringLiteral("askDock"))->raise();
        mm::ui::AskPanel* ask = window->askPanel();
        ask->questionEdit()->setText(QStringLiteral("Where was the telescope hidden?"));
        QTest::keyClick(ask->questionEdit(), Qt::Key_Return);
        QCOMPARE(fake.asked.size(), 1);
        QCOMPARE(fake.asked.first().asOfChar, reader->position());
        QTRY_COMPARE(ask->answerText(), QStringLiteral("Beneath the seventh stair."));
        QTRY_COMPARE(fake.saved.size(), 1);
        QCOMPARE(ask->evidenceList()->count(), 1);
        emit ask->evidenceList()->itemClicked(ask->evidenceList()->item(0));
        const auto selections = reader->extraSelections();
        const bool covered = std::any_of(selections.cbegin(), selections.cend(), [&](const auto& s) {
            return s.cursor.selectionStart() == sentence && s.cursor.selectionEnd() == sentence + kSentence.size();
        });
        QVERIFY2(covered, "the evidence is highlighted in the text");
        // After the answer the pools are asked again: the "Read" column is filled.
        QTRY_VERIFY(window->notesPanel()->model()->snapshot().entries.first().lastQuestionAttention >= 0);

        // MEMMAMBA_SCREENSHOT_DIR=docs/screenshots: the window with its memory docks.
        if (const QString dir = qEnvironmentVariable("MEMMAMBA_SCREENSHOT_DIR"); !dir.isEmpty()) {
            window->dock(QStringLiteral("notesDock"))->raise();
            window->memoryMapPanel()->map()->zoomToWholeBook();
            QTest::qWait(50);
            QVERIFY(window->grab().save(dir + QStringLiteral("/reader-memory.png")));
            window->dock(QStringLiteral("askDock"))->raise();
        }

        // Layer selection: the map, the notes and the settings follow.
        window->memoryMapPanel()->layerButton(0)->click();
        QCOMPARE(QSettings().value(QStringLiteral("memory/layers")).toString(), QStringLiteral("1,2,3"));
        QCOMPARE(window->notesPanel()->model()->rowCount(), 3);
        QVERIFY(map->layerRect(0).isEmpty());
        // "Read with model" on the library's "All documents" group queues every document
        // not read yet (here: none, the book is read; the service answers at once).
        QSignalSpy readRequests(window->libraryPanel(), &mm::ui::LibraryPanel::readWithModelRequested);
        window->libraryPanel()->requestReadWithModel(window->libraryPanel()->model()->index(0, 0));
        QCOMPARE(readRequests.count(), 1);
        QCOMPARE(readRequests.first().first().value<QVector<qint64>>(), QVector<qint64>{docId});
        QCOMPARE(fake.jobs().size(), 1);  // already read: no new job

        window->dock(QStringLiteral("notesDock"))->close();
        window->close();
    }

    // A later session: the memory is there without reading again, with the same layers
    // and the same docks.
    auto window = openWindow(dbPath());
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    window->setMemoryService(&fake);
    QSignalSpy shown(window.get(), &MainWindow::documentShown);
    window->start();
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    QCOMPARE(window->currentDocumentId(), docId);
    QTRY_VERIFY_WITH_TIMEOUT(window->memoryMapPanel()->map()->hasData(), kWaitMs);
    QCOMPARE(window->memoryMapPanel()->selectedLayers(), (QVector<int>{1, 2, 3}));
    QCOMPARE(window->notesPanel()->model()->shownLayers(), (QVector<int>{1, 2, 3}));
    QVERIFY(window->dock(QStringLiteral("notesDock"))->isHidden());
    QVERIFY(!window->dock(QStringLiteral("memoryMapDock"))->isHidden());
    QTRY_COMPARE(window->askPanel()->historyList()->count(), 1);  // the Q&A history came back
    QCOMPARE(fake.jobs().size(), 1);  // nothing was read again
}

QTEST_MAIN(TestMemoryWindow)
#include "tst_memory_window.moc"
