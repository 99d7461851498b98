// Drives the reader window as a user would, offscreen, against a temporary library:
// import (menu/drop path), library and contents, search and jump to a hit, reading
// position saved on close and restored in a new window, cancelled and failing imports.
#include "ui/library_model.h"
#include "ui/library_panel.h"
#include "ui/library_service.h"
#include "ui/import_progress_widget.h"
#include "ui/main_window.h"
#include "ui/reading_view.h"
#include "ui/search_panel.h"
#include "ui/text_reflow.h"
#include "ui/toc_panel.h"

#include <QDockWidget>
#include <QFile>
#include <QListView>
#include <QListWidget>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using mm::ui::MainWindow;

namespace {

const QString kBook = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/ui/lighthouse_almanac.txt");
const QString kSecondBook = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/harbour_wall.txt");
const QString kSentence = QStringLiteral("the brass telescope had been hidden beneath the seventh stair");
constexpr int kWaitMs = 20000;

std::unique_ptr<MainWindow> openWindow(const QString& dbPath)
{
    auto window = std::make_unique<MainWindow>(dbPath);
    window->resize(1200, 800);
    window->show();
    return window;
}

/// Rows under the "All documents" group.
int documentRows(MainWindow& window)
{
    return window.libraryPanel()->model()->documentIds().size();
}

bool anyTitleContains(MainWindow& window, const QString& needle)
{
    auto* model = window.libraryPanel()->model();
    const QModelIndex all = model->index(0, 0);
    for (int row = 0; row < model->rowCount(all); ++row) {
        if (model->index(row, mm::ui::LibraryModel::TitleColumn, all).data().toString().contains(needle, Qt::CaseInsensitive))
            return true;
    }
    return false;
}

}  // namespace

class TestReaderWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void reflowKeepsOffsets();
    void importSearchJumpCloseReopen();
    void positionRestoredWhenSwitchingDocuments();
    void folderImportMakesCollection();
    void cancelledImportStoresNothing();
    void emptyFileShowsSpecificError();
    void unreadableDatabaseIsReported();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString dbPath() const { return m_dir->filePath(QStringLiteral("library.sqlite3")); }
};

void TestReaderWindow::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("MemMambaTests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_reader_window"));
    QVERIFY2(QFile::exists(kBook), qPrintable(kBook));
}

void TestReaderWindow::init()
{
    QSettings().clear();  // no window layout or reflow choice leaks between tests
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestReaderWindow::reflowKeepsOffsets()
{
    const QString wrapped = QStringLiteral(
        "A long line of prose that was wrapped by the transcriber at seventy\n"
        "characters goes on here.\n\nShort verse line\nanother verse line\n\n    indented\nnext\n");
    const QString flowed = mm::ui::reflowForDisplay(wrapped);
    QCOMPARE(flowed.size(), wrapped.size());
    QVERIFY(flowed.contains(QStringLiteral("seventy characters")));
    QVERIFY(flowed.contains(QStringLiteral("Short verse line\nanother")));
    QVERIFY(flowed.contains(QStringLiteral("\n\n    indented\nnext")));
}

void TestReaderWindow::importSearchJumpCloseReopen()
{
    qint64 docId = 0;
    qint64 savedPosition = 0;
    {
        auto window = openWindow(dbPath());
        QVERIFY(QTest::qWaitForWindowExposed(window.get()));
        QSignalSpy shown(window.get(), &MainWindow::documentShown);
        QSignalSpy imported(window->service(), &mm::ui::LibraryService::importFinished);
        window->start();
        window->importFiles({kBook});

        // The import runs on the service thread; the book opens when it is stored.
        QTRY_COMPARE_WITH_TIMEOUT(imported.count(), 1, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
        docId = window->currentDocumentId();
        QVERIFY(docId > 0);
        QTRY_COMPARE_WITH_TIMEOUT(documentRows(*window), 1, kWaitMs);
        QVERIFY2(anyTitleContains(*window, QStringLiteral("lighthouse")), "library lists the imported book");

        // Contents: the six chapters, the fourth being "The Seventh Stair".
        QCOMPARE(window->tocPanel()->chapterCount(), 6);
        QVERIFY2(window->tocPanel()->chapterTitle(3).contains(QStringLiteral("IV")),
                 qPrintable(window->tocPanel()->chapterTitle(3)));
        QCOMPARE(window->tocPanel()->list()->count(), 6);

        // Search across the library and activate the first hit as the keyboard would.
        auto* reader = window->readingView();
        const QString shownText = reader->toPlainText();
        const int sentenceStart = shownText.indexOf(kSentence);
        QVERIFY(sentenceStart > 0);
        const int sentenceEnd = sentenceStart + kSentence.size();
        reader->scrollToPosition(0);
        window->searchPanel()->search(kSentence);
        QTRY_VERIFY_WITH_TIMEOUT(window->searchPanel()->hitCount() > 0, kWaitMs);
        const auto hit = window->searchPanel()->hit(0);
        QCOMPARE(hit.docId, docId);
        QVERIFY(hit.charStart <= sentenceStart && sentenceEnd <= hit.charEnd);

        QListView* results = window->searchPanel()->resultsView();
        results->setFocus();
        results->setCurrentIndex(results->model()->index(0, 0));
        QTest::keyClick(results, Qt::Key_Return);

        // The cursor is in the passage, the passage is on screen, and the highlight
        // covers the sentence; each query word is highlighted on its own as well.
        QTRY_VERIFY_WITH_TIMEOUT(!reader->extraSelections().isEmpty(), kWaitMs);
        QVERIFY(reader->cursorPosition() >= hit.charStart && reader->cursorPosition() < hit.charEnd);
        QVERIFY(reader->position() <= sentenceStart);
        QTextCursor sentenceCursor(reader->document());
        sentenceCursor.setPosition(sentenceStart);
        QVERIFY2(reader->viewport()->rect().contains(reader->cursorRect(sentenceCursor).center()),
                 "the hit is scrolled into view");
        const auto selections = reader->extraSelections();
        const bool passageCovered = std::any_of(selections.cbegin(), selections.cend(), [&](const auto& s) {
            return s.cursor.selectionStart() <= sentenceStart && s.cursor.selectionEnd() >= sentenceEnd;
        });
        QVERIFY2(passageCovered, "a highlight covers the found sentence");
        const int telescope = shownText.indexOf(QStringLiteral("telescope"), sentenceStart);
        const bool termMarked = std::any_of(selections.cbegin(), selections.cend(), [&](const auto& s) {
            return s.cursor.selectionStart() == telescope && s.cursor.selectionEnd() == telescope + 9;
        });
        QVERIFY2(termMarked, "the term 'telescope' has its own highlight");
        QVERIFY2(window->positionText().contains(window->tocPanel()->chapterTitle(3).simplified()),
                 qPrintable(window->positionText()));

        // Scroll to a later place (chapter VI) and close: the position is saved.
        const int lastChapter = int(shownText.indexOf(QStringLiteral("CHAPTER VI")));
        QVERIFY(lastChapter > sentenceEnd);
        reader->scrollToPosition(lastChapter + 400);
        savedPosition = reader->position();
        QVERIFY(savedPosition > lastChapter && savedPosition <= lastChapter + 400);
        QVERIFY(reader->verticalScrollBar()->value() > 0);
        window->close();
    }  // destroys the window and its service, which finishes the save first

    auto reopened = openWindow(dbPath());
    QVERIFY(QTest::qWaitForWindowExposed(reopened.get()));
    QSignalSpy shown(reopened.get(), &MainWindow::documentShown);
    reopened->start();  // "Continue reading"
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    QCOMPARE(reopened->currentDocumentId(), docId);
    QTRY_COMPARE_WITH_TIMEOUT(reopened->readingView()->position(), savedPosition, kWaitMs);
    QCOMPARE(reopened->tocPanel()->list()->currentRow(), 5);
    QTRY_COMPARE_WITH_TIMEOUT(documentRows(*reopened), 1, kWaitMs);
}

void TestReaderWindow::positionRestoredWhenSwitchingDocuments()
{
    auto window = openWindow(dbPath());
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QSignalSpy shown(window.get(), &MainWindow::documentShown);
    window->importFiles({kBook, kSecondBook}, {}, true);
    QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
    const qint64 firstDoc = window->currentDocumentId();
    QTRY_COMPARE_WITH_TIMEOUT(documentRows(*window), 2, kWaitMs);

    auto* reader = window->readingView();
    reader->scrollToPosition(reader->codePointCount() / 2);
    const qint64 saved = reader->position();
    QVERIFY(saved > 0);

    const auto ids = window->libraryPanel()->model()->documentIds();
    const qint64 secondDoc = ids.first() == firstDoc ? ids.last() : ids.first();
    window->openDocument(secondDoc);
    QTRY_COMPARE_WITH_TIMEOUT(window->currentDocumentId(), secondDoc, kWaitMs);
    window->openDocument(firstDoc);
    QTRY_COMPARE_WITH_TIMEOUT(window->currentDocumentId(), firstDoc, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(reader->position(), saved, kWaitMs);
}

void TestReaderWindow::folderImportMakesCollection()
{
    QTemporaryDir folder(m_dir->filePath(QStringLiteral("Sea Stories-XXXXXX")));
    QVERIFY(QFile::copy(kBook, folder.filePath(QStringLiteral("almanac.txt"))));
    QVERIFY(QFile::copy(kSecondBook, folder.filePath(QStringLiteral("harbour.txt"))));
    QVERIFY(QFile::copy(kBook, folder.filePath(QStringLiteral("ignored.bin"))));

    auto window = openWindow(dbPath());
    QSignalSpy imported(window->service(), &mm::ui::LibraryService::importFinished);
    window->importFolder(folder.path());
    QTRY_COMPARE_WITH_TIMEOUT(imported.count(), 1, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(documentRows(*window), 2, kWaitMs);
    auto* model = window->libraryPanel()->model();
    QCOMPARE(model->rowCount(), 2);  // "All documents" and the collection
    const QModelIndex collection = model->index(1, 0);
    QCOMPARE(collection.data().toString(), QFileInfo(folder.path()).fileName());
    QCOMPARE(model->rowCount(collection), 2);
    QCOMPARE(window->currentDocumentId(), qint64(0));  // a folder import opens nothing
}

void TestReaderWindow::cancelledImportStoresNothing()
{
    auto window = openWindow(dbPath());
    // The spy listens before the event loop first runs: the library opens and is listed on
    // the service thread while the window is being exposed, and a spy made after that
    // misses the first listing (it did, at random, when opening the library got faster).
    QSignalSpy listed(window->service(), &mm::ui::LibraryService::libraryListed);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 1, kWaitMs);  // the listing at open
    QSignalSpy cancelled(window->service(), &mm::ui::LibraryService::importCancelled);
    QSignalSpy finished(window->service(), &mm::ui::LibraryService::importFinished);

    // The reader presses Cancel the moment the import starts. importStarted is emitted
    // before the request is queued to the service thread, so the cancel is certain to
    // land before the first file is read, however fast that thread is.
    auto* progress = window->importProgress();
    bool buttonWasUsable = false;
    connect(window->service(), &mm::ui::LibraryService::importStarted, progress, [&] {
        buttonWasUsable = progress->isVisible() && progress->cancelButton()->isEnabled();
        QTest::mouseClick(progress->cancelButton(), Qt::LeftButton);
    });
    window->importFiles({kBook, kSecondBook});
    QVERIFY(buttonWasUsable);
    QVERIFY(!progress->cancelButton()->isEnabled());  // pressed, now "Cancelling…"

    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, kWaitMs);
    QCOMPARE(cancelled.first().first().toInt(), 0);
    QCOMPARE(finished.count(), 0);
    QTRY_VERIFY_WITH_TIMEOUT(!progress->isVisible(), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(listed.count(), 2, kWaitMs);  // listed again after the cancel
    QCOMPARE(documentRows(*window), 0);
    QVERIFY(window->statusBar()->currentMessage().contains(QStringLiteral("cancelled")));

    // Nothing was stored: the library's full-text index has no passage of the book.
    window->searchPanel()->search(kSentence);
    QSignalSpy searched(window->service(), &mm::ui::LibraryService::searchFinished);
    QTRY_COMPARE_WITH_TIMEOUT(searched.count(), 1, kWaitMs);
    QCOMPARE(window->searchPanel()->hitCount(), 0);
}

void TestReaderWindow::emptyFileShowsSpecificError()
{
    const QString emptyPath = m_dir->filePath(QStringLiteral("empty_book.txt"));
    {
        QFile empty(emptyPath);
        QVERIFY(empty.open(QIODevice::WriteOnly));
    }
    auto window = openWindow(dbPath());
    QSignalSpy failed(window->service(), &mm::ui::LibraryService::importFailed);
    window->importFiles({emptyPath});
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kWaitMs);
    const QString message = failed.first().first().toString();
    QVERIFY2(message.contains(QStringLiteral("empty_book.txt")) && message.contains(QStringLiteral("empty")),
             qPrintable(message));
    QCOMPARE(window->statusBar()->currentMessage(), message);
    auto* box = window->findChild<QMessageBox*>(QStringLiteral("errorMessage"));
    QVERIFY(box);
    QCOMPARE(box->text(), message);
    QVERIFY(!window->importProgress()->isVisible());
    QCOMPARE(window->currentDocumentId(), qint64(0));
}

void TestReaderWindow::unreadableDatabaseIsReported()
{
    const QString bogus = m_dir->filePath(QStringLiteral("not_a_library.sqlite3"));
    {
        QFile file(bogus);
        QVERIFY(file.open(QIODevice::WriteOnly));
        for (int i = 0; i < 400; ++i)
            file.write("this is a text file, not a MemMamba library\n");
    }
    auto window = openWindow(bogus);
    QSignalSpy unavailable(window.get(), &MainWindow::databaseUnavailable);
    window->start();
    QTRY_COMPARE_WITH_TIMEOUT(unavailable.count(), 1, kWaitMs);
    const QString message = unavailable.first().first().toString();
    QVERIFY2(!message.isEmpty(), "the reason is given");
    QVERIFY(window->statusBar()->currentMessage().contains(message));
    QVERIFY(!window->acceptDrops());
    QCOMPARE(window->currentDocumentId(), qint64(0));
}

QTEST_MAIN(TestReaderWindow)
#include "tst_reader_window.moc"
