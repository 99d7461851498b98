// ReadingSession (ui/reading_session.h): each setter signals a change once and stays
// quiet when the value is the same; a new document resets the selection and the memory
// state; the window's session follows the reading view (position, selection in code
// points) and the memory service (memory state).
#include "fake_memory_service.h"
#include "synthetic_memory.h"
#include "ui/main_window.h"
#include "ui/reading_session.h"
#include "ui/reading_view.h"

#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTextCursor>

using mm::memory::MemoryState;
using mm::ui::CharRange;
using mm::ui::ReadingSession;

class TestReadingSession : public QObject {
    Q_OBJECT

private slots:
    void positionSignalsOnlyChanges();
    void selectionSignalsOnlyChanges();
    void memoryStateSignalsOnlyChanges();
    void newDocumentResetsSelectionAndMemoryState();
    void sameDocumentIsNotAChange();
    void readingViewSelectionIsInCodePoints();
    void windowSessionFollowsTheReaderAndTheMemory();
};

void TestReadingSession::positionSignalsOnlyChanges()
{
    ReadingSession session;
    QSignalSpy spy(&session, &ReadingSession::positionChanged);
    session.setPosition(120);
    session.setPosition(120);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.first().first().toLongLong(), 120);
    session.setPosition(0);
    QCOMPARE(spy.count(), 2);
    QCOMPARE(session.position(), 0);
}

void TestReadingSession::selectionSignalsOnlyChanges()
{
    ReadingSession session;
    QSignalSpy spy(&session, &ReadingSession::selectionChanged);
    session.setSelection({});  // as it starts: no change
    QCOMPARE(spy.count(), 0);
    session.setSelection({10, 25});
    session.setSelection({10, 25});
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.first().first().value<CharRange>(), (CharRange{10, 25}));
    session.setSelection({10, 26});
    QCOMPARE(spy.count(), 2);
}

void TestReadingSession::memoryStateSignalsOnlyChanges()
{
    ReadingSession session;
    QCOMPARE(session.memoryState(), MemoryState::None);
    QSignalSpy spy(&session, &ReadingSession::memoryStateChanged);
    session.setMemoryState(MemoryState::None);
    QCOMPARE(spy.count(), 0);
    session.setMemoryState(MemoryState::Reading);
    session.setMemoryState(MemoryState::Reading);
    QCOMPARE(spy.count(), 1);
    QVERIFY(!session.memoryShown());
    session.setMemoryState(MemoryState::Ready);
    QCOMPARE(spy.count(), 2);
    QCOMPARE(spy.last().first().value<MemoryState>(), MemoryState::Ready);
    QVERIFY(session.memoryShown());
}

void TestReadingSession::newDocumentResetsSelectionAndMemoryState()
{
    ReadingSession session;
    session.setDocument(1, QStringLiteral("One"));
    session.setPosition(500);
    session.setSelection({3, 9});
    session.setMemoryState(MemoryState::Ready);
    QSignalSpy documents(&session, &ReadingSession::documentChanged);
    QSignalSpy selections(&session, &ReadingSession::selectionChanged);
    QSignalSpy states(&session, &ReadingSession::memoryStateChanged);
    QSignalSpy positions(&session, &ReadingSession::positionChanged);
    session.setDocument(2, QStringLiteral("Two"));
    QCOMPARE(documents.count(), 1);
    QCOMPARE(documents.first().at(0).toLongLong(), 2);
    QCOMPARE(documents.first().at(1).toString(), QStringLiteral("Two"));
    QCOMPARE(selections.count(), 1);
    QCOMPARE(session.selection(), CharRange{});
    QCOMPARE(states.count(), 1);
    QCOMPARE(session.memoryState(), MemoryState::None);
    // The position is the view's to report; the same number in the new document is news.
    QCOMPARE(positions.count(), 0);
    QCOMPARE(session.position(), -1);
    session.setPosition(500);
    QCOMPARE(positions.count(), 1);
}

void TestReadingSession::sameDocumentIsNotAChange()
{
    ReadingSession session;
    session.setDocument(4, QStringLiteral("Four"));
    session.setPosition(42);
    session.setMemoryState(MemoryState::Ready);
    QSignalSpy documents(&session, &ReadingSession::documentChanged);
    QSignalSpy states(&session, &ReadingSession::memoryStateChanged);
    session.setDocument(4, QStringLiteral("Four"));
    QCOMPARE(documents.count(), 0);
    QCOMPARE(states.count(), 0);
    QCOMPARE(session.position(), 42);
    session.setDocument(4, QStringLiteral("Four, revised"));  // retitled: the window title changes
    QCOMPARE(documents.count(), 1);
}

void TestReadingSession::readingViewSelectionIsInCodePoints()
{
    mm::ui::ReadingView view;
    view.resize(600, 400);
    // "𝔄" is one code point and two UTF-16 units: offsets after it differ by one.
    view.showText(QStringLiteral("𝔄 harbour wall and the lanterns"), 0);
    ReadingSession session;
    connect(&view, &QPlainTextEdit::selectionChanged, &session, [&] { session.setSelection(view.selection()); });
    QSignalSpy spy(&session, &ReadingSession::selectionChanged);
    QTextCursor cursor = view.textCursor();
    cursor.setPosition(3);                          // UTF-16 index of "h"
    cursor.setPosition(10, QTextCursor::KeepAnchor);  // after "harbour"
    view.setTextCursor(cursor);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(session.selection(), (CharRange{2, 9}));
    cursor.clearSelection();
    view.setTextCursor(cursor);
    QCOMPARE(session.selection(), CharRange{});
}

void TestReadingSession::windowSessionFollowsTheReaderAndTheMemory()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("MemMambaTests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_reading_session"));
    QSettings().clear();
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    mm::test::FakeMemoryService fake;  // outlives the window
    mm::ui::MainWindow window(dir.filePath(QStringLiteral("library.sqlite3")));
    window.resize(1300, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.setMemoryService(&fake);
    ReadingSession* session = window.readingSession();
    QSignalSpy documents(session, &ReadingSession::documentChanged);
    QSignalSpy states(session, &ReadingSession::memoryStateChanged);
    QSignalSpy shown(&window, &mm::ui::MainWindow::documentShown);
    window.importFiles({QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/ui/lighthouse_almanac.txt")});
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, 20000);
    QCOMPARE(documents.count(), 1);
    const qint64 docId = window.currentDocumentId();
    QCOMPARE(session->documentId(), docId);
    QVERIFY(!session->title().isEmpty());
    QCOMPARE(session->memoryState(), MemoryState::None);

    // The reader scrolls and selects: the session follows, in code points.
    mm::ui::ReadingView* reader = window.readingView();
    reader->scrollToPosition(reader->codePointCount() / 2);
    QTRY_COMPARE(session->position(), reader->position());
    QVERIFY(session->position() > 0);
    QTextCursor cursor = reader->textCursor();
    cursor.setPosition(100);
    cursor.setPosition(140, QTextCursor::KeepAnchor);
    reader->setTextCursor(cursor);
    QCOMPARE(session->selection(), (CharRange{100, 140}));  // the book is ASCII: units = code points

    // The model reads it (Reading), then its memory map arrives (Ready).
    const auto book = mm::test::bookFromText(reader->toPlainText(), docId, 4, {});
    fake.addBook(docId, book, false);
    window.readOpenDocumentWithModel();
    fake.step(book.data->tokenCount() / 2);
    QTRY_COMPARE(session->memoryState(), MemoryState::Reading);
    fake.step(book.data->tokenCount());
    QTRY_COMPARE_WITH_TIMEOUT(session->memoryState(), MemoryState::Ready, 20000);
    QVERIFY(session->memoryShown());
    QCOMPARE(states.count(), 2);  // None → Reading → Ready, each once
}

QTEST_MAIN(TestReadingSession)
#include "tst_reading_session.moc"
