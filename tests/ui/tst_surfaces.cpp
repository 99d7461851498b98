// What a reader sees first, finished: tokens shown as the book's text (a byte piece as
// the character it belongs to, never a lone byte drawn as Latin-1: «Ã», «£»), the About
// box with the licence and maintainer, and every panel readable at 1280x800 and
// 1920x1080: each list and table cell either fits its column or is elided with a
// tooltip, number columns and headers always fit. MEMMAMBA_SCREENSHOT_DIR=DIR saves the
// window at both sizes (docs/screenshots, taken under Xvfb: docs/reliability.md).
#include "fake_memory_service.h"
#include "synthetic_memory.h"
#include "ui/about.h"
#include "ui/ask_panel.h"
#include "ui/library_panel.h"
#include "ui/main_window.h"
#include "ui/memory_map_panel.h"
#include "ui/memory_map_widget.h"
#include "ui/notes_panel.h"
#include "ui/pool_model.h"
#include "ui/reading_view.h"
#include "ui/search_panel.h"
#include "ui/toc_panel.h"
#include "ui/token_text.h"

#include <QDockWidget>
#include <QFile>
#include <QHeaderView>
#include <QLineEdit>
#include <QListView>
#include <QListWidget>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>

using mm::test::FakeMemoryService;
using namespace mm::ui;

namespace {

const QString kBook = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/ui/lighthouse_almanac.txt");
constexpr int kWaitMs = 20000;

/// Cells of a tree or table that cannot be read: text cut without a tooltip holding it,
/// or a number cut at all; header labels cut.
QStringList unreadableCells(QTreeView* view)
{
    QStringList problems;
    QHeaderView* header = view->header();
    const int margin = 2 * (view->style()->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, view) + 1);
    for (int c = 0; c < header->count(); ++c) {
        if (header->isSectionHidden(c) || header->sectionSize(c) == 0)
            continue;
        const QString label = view->model()->headerData(c, Qt::Horizontal).toString();
        const int need = header->fontMetrics().horizontalAdvance(label) + margin;
        if (need > header->sectionSize(c))
            problems << QStringLiteral("header '%1' needs %2 px, has %3").arg(label).arg(need).arg(header->sectionSize(c));
    }
    std::function<void(const QModelIndex&)> walk = [&](const QModelIndex& parent) {
        for (int row = 0; row < view->model()->rowCount(parent); ++row) {
            for (int c = 0; c < header->count(); ++c) {
                const QModelIndex index = view->model()->index(row, c, parent);
                const QRect rect = view->visualRect(index);
                const QString text = index.data().toString();
                if (text.isEmpty() || rect.width() <= 0 || header->isSectionHidden(c))
                    continue;
                QFont font = view->font();
                if (const QVariant f = index.data(Qt::FontRole); f.isValid())
                    font = f.value<QFont>();
                const int need = QFontMetrics(font).horizontalAdvance(text) + margin;
                if (need <= rect.width())
                    continue;
                // Numbers and short labels ("176,256", "695k chars", "0.917") must show whole.
                const bool shortValue = text.size() <= 12 && text.contains(QRegularExpression(QStringLiteral("\\d")));
                const QString tip = index.data(Qt::ToolTipRole).toString();
                if (shortValue)
                    problems << QStringLiteral("'%1' (column %2) needs %3 px, has %4").arg(text).arg(c).arg(need).arg(rect.width());
                else if (!tip.simplified().contains(text.left(20))
                         && !tip.simplified().contains(text.mid(text.indexOf(QChar(0x00BB)) + 1).remove(QChar(0x2026)).trimmed().left(20)))
                    problems << QStringLiteral("'%1' is cut and its tooltip '%2' does not hold it").arg(text, tip.left(60));
            }
            if (view->isExpanded(view->model()->index(row, 0, parent)))
                walk(view->model()->index(row, 0, parent));
        }
    };
    walk(QModelIndex());
    return problems;
}

/// Items of a list widget whose text is cut without a tooltip saying it.
QStringList unreadableItems(QListWidget* list)
{
    QStringList problems;
    const int margin = 2 * (list->style()->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, list) + 1);
    for (int i = 0; i < list->count(); ++i) {
        const QListWidgetItem* item = list->item(i);
        const QRect rect = list->visualItemRect(item);
        const QString text = item->text();
        if (text.contains(QLatin1Char('\n')) || rect.width() <= 0)
            continue;  // wrapped, multi-line items are read whole
        if (list->fontMetrics().horizontalAdvance(text) + margin > rect.width() && !item->toolTip().contains(text.left(20)))
            problems << QStringLiteral("'%1' is cut and has no tooltip holding it").arg(text);
    }
    return problems;
}

}  // namespace

class TestSurfaces : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("MemMambaTests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_surfaces"));
        QVERIFY(QFile::exists(kBook));
    }

    void bytePiecesShowTheirCharacter()
    {
        // "caf" é " " £ "5 " 🌙: é, £ and 🌙 are read as byte pieces. As app/memory maps
        // them, every piece but a character's last starts (and ends) at that character.
        const QString text = QStringLiteral("caf\u00E9 \u00A35 \U0001F319\nx");
        // Token starts in UTF-16 units: caf | <C3> | <A9> | " " | <C2> | <A3> | "5 " | <F0> <9F> <8C> | <99> | \n | x
        const QVector<qsizetype> starts = {0, 3, 3, 4, 5, 5, 6, 8, 8, 8, 8, 10, 11};
        const QStringList expected = {QStringLiteral("caf"), QStringLiteral("\u00E9"), QStringLiteral("\u00E9"),
                                      QStringLiteral(" "), QStringLiteral("\u00A3"), QStringLiteral("\u00A3"),
                                      QStringLiteral("5 "), QStringLiteral("\U0001F319"), QStringLiteral("\U0001F319"),
                                      QStringLiteral("\U0001F319"), QStringLiteral("\U0001F319"),
                                      QStringLiteral("\u21B5"), QStringLiteral("x")};
        for (int t = 0; t < starts.size(); ++t) {
            const qsizetype end = t + 1 < starts.size() ? starts[t + 1] : text.size();
            const QString shown = tokenDisplayText(text, starts[t], end);
            QCOMPARE(shown, expected[t]);
            // Nothing shown that the book does not hold (but the visible line break).
            for (QChar c : shown)
                QVERIFY2(text.contains(c) || c == QChar(0x21B5), qPrintable(shown));
        }
        QCOMPARE(tokenDisplayText(QStringLiteral("\u2581the"), 0, 4), QStringLiteral(" the"));
        QCOMPARE(tokenDisplayText(text, text.size(), text.size()), QString());
        QCOMPARE(tokenDisplayText(text, -3, 2), QStringLiteral("ca"));
    }

    void notesPanelShowsTheCharacter()
    {
        PoolSnapshot snapshot;
        snapshot.layerCount = 1;
        snapshot.poolSize = 4;
        PoolEntry piece;
        piece.context = QStringLiteral("le caf\u00E9 du port");
        piece.contextTokenStart = 6;  // a byte piece of é before its last: an empty span
        piece.contextTokenLength = 0;
        snapshot.entries << piece;
        PoolModel model;
        model.setSnapshot(snapshot);
        model.setLayers({0});
        const QModelIndex layer = model.index(0, 0);
        QCOMPARE(model.rowCount(layer), 1);
        const QString shown = model.index(0, PoolModel::NoteColumn, layer).data().toString();
        QVERIFY2(shown.startsWith(QStringLiteral("«\u00E9»")), qPrintable(shown));

        // Far into its context, the token is still shown in its word: the cell elides at
        // the right, so the context starts a few words before the token.
        PoolEntry far;
        far.slot = 1;
        far.context = QStringLiteral("and left a kiss on her forehead.]\n\n\n\nSHIRLEY\n\nBY\n\nCHARLOTTE BRONT\u00CB\n\nT. NELSON");
        far.contextTokenStart = int(far.context.indexOf(QChar(0x00CB)));
        far.contextTokenLength = 1;
        snapshot.entries = {far};
        model.setSnapshot(snapshot);
        const QString farShown = model.index(0, PoolModel::NoteColumn, model.index(0, 0)).data().toString();
        QVERIFY2(farShown.startsWith(QStringLiteral("«\u00CB»  …")), qPrintable(farShown));
        QVERIFY2(farShown.indexOf(QStringLiteral("CHARLOTTE BRONT\u00CB T. NELSON")) < 40, qPrintable(farShown));
        QVERIFY2(!farShown.contains(QLatin1Char('\n')), qPrintable(farShown));
    }

    void aboutNamesLicenceAndMaintainer()
    {
        const QString text = aboutText();
        QVERIFY2(text.contains(QStringLiteral("Apache License 2.0")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("Maintainer: ")) && text.contains(QStringLiteral("&lt;")), qPrintable(text));
        QVERIFY(text.contains(QString::fromLatin1(qVersion())));
        MainWindow window(QDir::temp().filePath(QStringLiteral("tst_surfaces_about.sqlite3")));
        QVERIFY(window.findChild<QAction*>(QStringLiteral("about")));
    }

    void readableAt_data()
    {
        QTest::addColumn<QSize>("size");
        QTest::newRow("1280x800") << QSize(1280, 800);
        QTest::newRow("1920x1080") << QSize(1920, 1080);
    }

    void readableAt()
    {
        QFETCH(QSize, size);
        QSettings().clear();
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        // A second book with a long title and author, as real libraries have.
        const QString longBook = dir.filePath(QStringLiteral("long.txt"));
        {
            QFile f(longBook);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("THE MOST REMARKABLE AND TRUE HISTORY OF THE KEEPERS OF THE NORTHERN LIGHTHOUSE AND THEIR LANTERNS\n\n"
                    "by Josephine Annabel Carrington-Whitmore\n\n\nCHAPTER I. A VERY LONG CHAPTER TITLE ABOUT THE HARBOUR WALL AT NIGHT\n\n"
                    "The keeper climbed the stair.\n");
        }
        FakeMemoryService fake;
        MainWindow window(dir.filePath(QStringLiteral("library.sqlite3")));
        window.resize(size);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        window.setMemoryService(&fake);
        QSignalSpy shown(&window, &MainWindow::documentShown);
        window.importFiles({longBook});
        QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
        window.importFiles({kBook});
        QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 2, kWaitMs);
        const QString text = window.readingView()->toPlainText();
        QVector<MemoryChapterMark> chapters;
        auto it = QRegularExpression(QStringLiteral("CHAPTER [IVX]+[^\\n]*")).globalMatch(text);
        while (it.hasNext()) {
            const auto m = it.next();
            chapters.push_back({m.capturedStart(), m.captured().simplified()});
        }
        const auto book = mm::test::bookFromText(text, window.currentDocumentId(), 8, chapters);
        fake.addBook(window.currentDocumentId(), book, false);
        QAction* read = window.findChild<QAction*>(QStringLiteral("readWithModel"));
        QVERIFY(read);
        QTRY_VERIFY(read->isEnabled());
        read->trigger();
        fake.step(book.data->tokenCount());
        QTRY_VERIFY_WITH_TIMEOUT(window.memoryMapPanel()->map()->hasData(), kWaitMs);
        window.readingView()->scrollToPosition(window.readingView()->codePointCount() * 2 / 3);
        QTRY_VERIFY(window.notesPanel()->model()->rowCount() > 0);
        auto* query = window.searchPanel()->findChild<QLineEdit*>();
        QVERIFY(query);
        query->setText(QStringLiteral("lantern"));
        QTest::keyClick(query, Qt::Key_Return);
        QTest::qWait(300);

        QTreeView* library = window.libraryPanel()->view();
        library->expandAll();
        QStringList problems = unreadableCells(library);
        problems << unreadableItems(window.tocPanel()->list());
        window.dock(QStringLiteral("notesDock"))->raise();
        window.notesPanel()->view()->expandAll();
        QTest::qWait(100);
        problems << unreadableCells(window.notesPanel()->view());
        for (const QString& p : std::as_const(problems))
            qWarning("%s: %s", QTest::currentDataTag(), qPrintable(p));
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));

        if (const QString out = qEnvironmentVariable("MEMMAMBA_SCREENSHOT_DIR"); !out.isEmpty()) {
            window.dock(QStringLiteral("memoryMapDock"))->raise();
            window.memoryMapPanel()->map()->zoomToWholeBook();
            QTest::qWait(100);
            QVERIFY(window.grab().save(out + QStringLiteral("/surfaces-%1.png").arg(QLatin1String(QTest::currentDataTag()))));
        }
        window.close();
    }
};

QTEST_MAIN(TestSurfaces)
#include "tst_surfaces.moc"
