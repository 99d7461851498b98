// The Charts dock (ui/charts_panel.*): the perplexity-by-position curve equals exp(mean
// surprisal) of each bin (computed here independently from the synthetic book), the
// fidelity curves are the service's result per layer (a scripted fake), measured only
// when the panel is shown, with progress, cancel and measure again; a document without
// memory shows a placeholder, not an empty chart; both charts export as PNG, and an
// unwritable path gives a specific error. In the window: the dock, its View menu entry,
// its gate, and its place in the saved layout.
//
// MEMMAMBA_SCREENSHOT_DIR=DIR: `screenshot` saves the panel on a synthetic book
// (charts-synthetic.png).
#include "fake_memory_service.h"
#include "synthetic_memory.h"
#include "ui/charts_panel.h"
#include "ui/main_window.h"
#include "ui/memory_gate.h"
#include "ui/memory_map_panel.h"
#include "ui/reading_view.h"

#include <QAction>
#include <QChart>
#include <QChartView>
#include <QDockWidget>
#include <QFile>
#include <QImage>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QMenuBar>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QValueAxis>

#include <cmath>

using mm::test::FakeMemoryService;
using mm::ui::ChartsPanel;

namespace {
const QString kBook = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/ui/lighthouse_almanac.txt");
constexpr int kWaitMs = 20000;

/// The window's wiring between the panel and a service, for the panel alone.
void connectPanel(ChartsPanel& panel, FakeMemoryService& fake)
{
    QObject::connect(&panel, &ChartsPanel::fidelityRequested, &fake, &FakeMemoryService::requestFidelity);
    QObject::connect(&panel, &ChartsPanel::fidelityCancelRequested, &fake, &FakeMemoryService::cancelFidelity);
    QObject::connect(&fake, &FakeMemoryService::fidelityProgress, &panel, &ChartsPanel::setFidelityProgress);
    QObject::connect(&fake, &FakeMemoryService::fidelityReady, &panel, &ChartsPanel::setFidelityCurves);
    QObject::connect(&fake, &FakeMemoryService::fidelityFailed, &panel, &ChartsPanel::setFidelityFailed);
    QObject::connect(&fake, &FakeMemoryService::fidelityCancelled, &panel, &ChartsPanel::setFidelityCancelled);
}

/// exp(mean of the finite surprisal values of tokens [from, to)), the brute-force way.
double binPerplexity(const mm::ui::MemoryMapData& d, qint64 from, qint64 to, qint64* scored = nullptr)
{
    long double sum = 0;
    qint64 n = 0;
    for (qint64 t = from; t < to; ++t) {
        if (!std::isnan(d.surprisal[t])) {
            sum += d.surprisal[t];
            ++n;
        }
    }
    if (scored)
        *scored = n;
    return n ? std::exp(double(sum / n)) : std::nan("");
}

bool closeTo(double a, double b, double rel = 1e-9)
{
    return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b));
}

std::shared_ptr<mm::ui::MemoryMapData> bookData(qint64 docId, qint64 tokens, int layers = 8)
{
    auto data = mm::test::makeSyntheticBook(tokens, layers, 6, false).data;
    data->docId = docId;
    return data;
}
}  // namespace

class TestChartsPanel : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void perplexityIsExpOfTheMeanSurprisalPerBin();
    void perplexityOfShortAndOddBooks();
    void wideRangeUsesALogAxis();
    void fidelityCurvesComeFromTheService();
    void fidelityProgressCancelAndMeasureAgain();
    void placeholderWithoutMemory();
    void exportWritesPngOfTheChartsSize();
    void exportToAnUnwritablePathSaysWhy();
    void theDockInTheWindow();
    void screenshot();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
};

void TestChartsPanel::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("MemMambaTests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_charts_panel"));
    mm::ui::registerMemoryMetaTypes();
}

void TestChartsPanel::init()
{
    QSettings().clear();
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void TestChartsPanel::perplexityIsExpOfTheMeanSurprisalPerBin()
{
    const qint64 tokens = 60000;  // 200 bins of exactly 300 tokens
    auto data = bookData(1, tokens);
    ChartsPanel panel;
    panel.resize(1200, 420);
    panel.setDocument(1, QStringLiteral("Synthetic"));
    panel.setMemoryData(data);
    QVERIFY(panel.isChartShown(ChartsPanel::Perplexity));
    QVERIFY(panel.placeholderText(ChartsPanel::Perplexity).isEmpty());
    QVERIFY(panel.exportButton(ChartsPanel::Perplexity)->isEnabled());

    QLineSeries* series = panel.perplexitySeries();
    QVERIFY(series);
    QCOMPARE(series->count(), ChartsPanel::kPerplexityBins);
    const auto points = series->points();
    for (int b = 0; b < points.size(); ++b) {
        const qint64 from = qint64(b) * 300, to = from + 300;
        const double expected = binPerplexity(*data, from, to);
        QVERIFY2(closeTo(points[b].y(), expected), qPrintable(QStringLiteral("bin %1: %2 vs %3").arg(b).arg(points[b].y()).arg(expected)));
        QCOMPARE(points[b].x(), double(from + to) / 2);
    }
    // The synthetic surprisal is 1-9 nats: perplexities between e and e^9, per bin far less spread.
    QVERIFY(points.first().y() > std::exp(1.0) && points.first().y() < std::exp(9.0));
    QVERIFY(qobject_cast<QValueAxis*>(panel.chartView(ChartsPanel::Perplexity)->chart()->axes(Qt::Vertical).first()));

    // The smoothed line: one point per bin, the geometric mean of its 9 neighbours.
    QLineSeries* smooth = panel.smoothedPerplexitySeries();
    QVERIFY(smooth);
    QCOMPARE(smooth->count(), points.size());
    double logSum = 0;
    for (int b = 96; b <= 104; ++b)
        logSum += std::log(points[b].y());
    QVERIFY(closeTo(smooth->at(100).y(), std::exp(logSum / 9), 1e-9));

    // The reading position: a vertical line at its token.
    const qint64 token = 31234;
    panel.setReadingPosition(data->tokenChars[token] + 1);  // inside the token
    QLineSeries* marker = panel.readingPositionSeries();
    QVERIFY(marker);
    QCOMPARE(marker->count(), 2);
    QCOMPARE(marker->at(0).x(), double(token));
    QCOMPARE(marker->at(1).x(), double(token));
    QVERIFY(marker->at(0).y() < marker->at(1).y());
}

void TestChartsPanel::perplexityOfShortAndOddBooks()
{
    // 12,345 tokens: 200 bins of 61 or 62 tokens that cover the book exactly once.
    auto data = bookData(3, 12345, 2);
    const auto bins = ChartsPanel::perplexityBins(*data);
    QCOMPARE(bins.size(), 200);
    qint64 next = 0;
    for (const auto& b : bins) {
        QCOMPARE(b.firstToken, next);
        QVERIFY(b.endToken - b.firstToken == 61 || b.endToken - b.firstToken == 62);
        qint64 scored = 0;
        QVERIFY(closeTo(b.perplexity, binPerplexity(*data, b.firstToken, b.endToken, &scored)));
        QCOMPARE(b.scoredTokens, scored);
        next = b.endToken;
    }
    QCOMPARE(next, qint64(12345));
    ChartsPanel panel;
    panel.setDocument(3, QString());
    panel.setMemoryData(data);
    QCOMPARE(panel.perplexitySeries()->count(), 200);

    // 50 tokens: a bin per token; the first token has no prediction (NaN): 49 points.
    auto shortData = bookData(4, 50, 2);
    panel.setDocument(4, QStringLiteral("Short"));
    panel.setMemoryData(shortData);
    QCOMPARE(panel.perplexitySeries()->count(), 49);
    QVERIFY(closeTo(panel.perplexitySeries()->at(0).y(), std::exp(double(shortData->surprisal[1]))));

    // No surprisal stored: a placeholder that says so.
    auto noSurprisal = bookData(5, 1000, 2);
    noSurprisal->surprisal.clear();
    panel.setDocument(5, QStringLiteral("None"));
    panel.setMemoryData(noSurprisal);
    QVERIFY(!panel.isChartShown(ChartsPanel::Perplexity));
    QVERIFY2(panel.placeholderText(ChartsPanel::Perplexity).contains(QStringLiteral("no surprisal")),
             qPrintable(panel.placeholderText(ChartsPanel::Perplexity)));
}

void TestChartsPanel::wideRangeUsesALogAxis()
{
    auto data = bookData(6, 20000, 2);
    for (qint64 t = 1; t < 20000; ++t)
        data->surprisal[t] = t < 10000 ? 0.2f : 9.5f;  // perplexity 1.2 then 13,000
    ChartsPanel panel;
    panel.setDocument(6, QStringLiteral("Wide"));
    panel.setMemoryData(data);
    QVERIFY(qobject_cast<QLogValueAxis*>(panel.chartView(ChartsPanel::Perplexity)->chart()->axes(Qt::Vertical).first()));
    QVERIFY(closeTo(panel.perplexitySeries()->at(0).y(), std::exp(double(0.2f))));
    QVERIFY(closeTo(panel.perplexitySeries()->at(199).y(), std::exp(double(9.5f))));
}

void TestChartsPanel::fidelityCurvesComeFromTheService()
{
    FakeMemoryService fake;
    const auto book = mm::test::makeSyntheticBook(20000, 8, 6, false);
    book.data->docId = 7;
    fake.addBook(7, book, true);
    ChartsPanel panel;
    connectPanel(panel, fake);
    panel.resize(1200, 420);
    QSignalSpy requested(&panel, &ChartsPanel::fidelityRequested);

    // Hidden: nothing is measured (it costs model time).
    panel.setDocument(7, QStringLiteral("Synthetic"));
    panel.setMemoryData(book.data);
    QCOMPARE(requested.count(), 0);
    QVERIFY(!panel.isChartShown(ChartsPanel::Fidelity));
    // Shown: measured once, with the protocol's defaults.
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QCOMPARE(requested.count(), 1);
    QCOMPARE(fake.fidelityRequests.size(), 1);
    const mm::ui::FidelityRequest request = fake.fidelityRequests.first();
    QCOMPARE(request.docId, qint64(7));
    QCOMPARE(request.samples, 4);
    QCOMPARE(request.distances, (QVector<qint64>{1, 4, 16, 64, 256, 1024, 4096}));
    QTRY_VERIFY(panel.isChartShown(ChartsPanel::Fidelity));
    QVERIFY(panel.exportButton(ChartsPanel::Fidelity)->isEnabled());

    // Every layer's curve, point by point, is the service's result.
    const auto expected = FakeMemoryService::syntheticFidelity(7, 8, request, 20000);
    QCOMPARE(panel.fidelityLayers(), (QVector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
    for (int l = 0; l < 8; ++l) {
        for (bool noPool : {false, true}) {
            QLineSeries* s = panel.fidelitySeries(l, noPool);
            QVERIFY2(s, qPrintable(QStringLiteral("layer %1 %2").arg(l).arg(noPool)));
            const auto& values = noPool ? expected.etmfNoPool[l] : expected.etmf[l];
            QCOMPARE(s->count(), expected.distances.size());
            for (int i = 0; i < s->count(); ++i) {
                QCOMPARE(s->at(i).x(), double(expected.distances[i]));
                QCOMPARE(s->at(i).y(), values[i]);
            }
        }
    }
    // Deeper layers decay more slowly in the fake: the last layer is above the first far out.
    QVERIFY(panel.fidelitySeries(7)->at(6).y() > panel.fidelitySeries(0)->at(6).y());
    QVERIFY(qobject_cast<QLogValueAxis*>(panel.chartView(ChartsPanel::Fidelity)->chart()->axes(Qt::Horizontal).first()));

    // The map's layer selection picks the curves.
    panel.setLayers({0, 7});
    QCOMPARE(panel.fidelityLayers(), (QVector<int>{0, 7}));
    QVERIFY(panel.fidelitySeries(0) && panel.fidelitySeries(7) && panel.fidelitySeries(7, true));
    QVERIFY(!panel.fidelitySeries(3));
    panel.setLayers({});
    QVERIFY(panel.fidelitySeries(3));

    // The same document's map again (e.g. after a reread): no second measurement.
    panel.setMemoryData(book.data);
    QCOMPARE(fake.fidelityRequests.size(), 1);
    QVERIFY(panel.isChartShown(ChartsPanel::Fidelity));
}

void TestChartsPanel::fidelityProgressCancelAndMeasureAgain()
{
    FakeMemoryService fake;
    fake.holdFidelity = true;
    const auto book = mm::test::makeSyntheticBook(20000, 4, 6, false);
    book.data->docId = 8;
    fake.addBook(8, book, true);
    ChartsPanel panel;
    connectPanel(panel, fake);
    panel.resize(1000, 400);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.setDocument(8, QStringLiteral("Held"));
    panel.setMemoryData(book.data);
    QCOMPARE(fake.fidelityRequests.size(), 1);
    QVERIFY(panel.isMeasuringFidelity());
    auto* progress = panel.findChild<QProgressBar*>(QStringLiteral("fidelityProgress"));
    QVERIFY(progress);
    QTRY_COMPARE(progress->maximum(), 8);  // 4 samples, with and without the pools
    QCOMPARE(progress->value(), 1);
    QVERIFY(progress->isVisible());
    QVERIFY(panel.placeholderText(ChartsPanel::Fidelity).contains(QStringLiteral("Measuring")));
    QVERIFY(panel.fidelityCancelButton()->isVisible());
    QVERIFY(!panel.fidelityMeasureButton()->isVisible());

    QTest::mouseClick(panel.fidelityCancelButton(), Qt::LeftButton);
    QCOMPARE(fake.fidelityCancels, QVector<qint64>{8});
    QTRY_VERIFY(!panel.isMeasuringFidelity());
    QVERIFY(panel.placeholderText(ChartsPanel::Fidelity).contains(QStringLiteral("cancelled")));
    QVERIFY(!panel.fidelityCancelButton()->isVisible());
    QVERIFY(panel.fidelityMeasureButton()->isVisible());
    QVERIFY(!panel.isChartShown(ChartsPanel::Fidelity));

    QTest::mouseClick(panel.fidelityMeasureButton(), Qt::LeftButton);
    QCOMPARE(fake.fidelityRequests.size(), 2);
    fake.finishFidelity();
    QTRY_VERIFY(panel.isChartShown(ChartsPanel::Fidelity));
    QCOMPARE(panel.fidelityCurves().layerCount, 4);

    // A failure names its reason and offers to measure again.
    panel.setDocument(9, QStringLiteral("Unknown"));
    auto other = bookData(9, 3000, 2);
    panel.setMemoryData(other);  // the fake does not know the book: it fails
    QTRY_VERIFY(panel.placeholderText(ChartsPanel::Fidelity).contains(QStringLiteral("has not been read")));
    QVERIFY(panel.placeholderText(ChartsPanel::Fidelity).contains(QStringLiteral("could not be measured")));
    QVERIFY(panel.fidelityMeasureButton()->isVisible());
    // A late answer for another document changes nothing.
    panel.setFidelityCurves(FakeMemoryService::syntheticFidelity(8, 4, {}, 20000));
    QVERIFY(!panel.isChartShown(ChartsPanel::Fidelity));
}

void TestChartsPanel::placeholderWithoutMemory()
{
    ChartsPanel panel;
    panel.resize(1000, 400);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy requested(&panel, &ChartsPanel::fidelityRequested);
    QVERIFY(panel.placeholderText(ChartsPanel::Perplexity).contains(QStringLiteral("Open a book")));
    panel.setDocument(2, QStringLiteral("Unread"));
    QVERIFY(panel.placeholderText(ChartsPanel::Perplexity).contains(QStringLiteral("Looking")));
    panel.setMemoryUnavailable(2, QString());
    for (auto chart : {ChartsPanel::Perplexity, ChartsPanel::Fidelity}) {
        QVERIFY(!panel.isChartShown(chart));
        QVERIFY2(panel.placeholderText(chart).contains(QStringLiteral("not been read with the model")),
                 qPrintable(panel.placeholderText(chart)));
        QVERIFY(!panel.exportButton(chart)->isEnabled());
        const QString error = panel.exportPng(chart, m_dir->filePath(QStringLiteral("x.png")));
        QVERIFY2(error.contains(QStringLiteral("nothing to export")), qPrintable(error));
    }
    QVERIFY(!QFile::exists(m_dir->filePath(QStringLiteral("x.png"))));
    QCOMPARE(requested.count(), 0);
    // A reason from the service is shown with it; another document's answer is ignored.
    panel.setMemoryUnavailable(2, QStringLiteral("It was read by another model (mm1:abc)."));
    QVERIFY(panel.placeholderText(ChartsPanel::Fidelity).contains(QStringLiteral("another model")));
    panel.setMemoryData(bookData(3, 1000, 2));  // not the open document: it becomes the open one
    QCOMPARE(panel.documentId(), qint64(3));
    QVERIFY(panel.isChartShown(ChartsPanel::Perplexity));
}

void TestChartsPanel::exportWritesPngOfTheChartsSize()
{
    FakeMemoryService fake;
    const auto book = mm::test::makeSyntheticBook(30000, 4, 6, false);
    book.data->docId = 10;
    fake.addBook(10, book, true);
    ChartsPanel panel;
    connectPanel(panel, fake);
    panel.resize(1300, 450);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.setDocument(10, QStringLiteral("Export: a/b"));
    panel.setMemoryData(book.data);
    QTRY_VERIFY(panel.isChartShown(ChartsPanel::Fidelity));
    QCOMPARE(panel.suggestedFileName(ChartsPanel::Perplexity), QStringLiteral("Export_ a_b - perplexity.png"));
    for (auto chart : {ChartsPanel::Perplexity, ChartsPanel::Fidelity}) {
        const QString path = m_dir->filePath(chart == ChartsPanel::Perplexity ? QStringLiteral("ppl.png")
                                                                                : QStringLiteral("fidelity.png"));
        const QString error = panel.exportPng(chart, path);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QImage image(path);
        QVERIFY(!image.isNull());
        QChartView* view = panel.chartView(chart);
        QVERIFY(view->width() > 300);
        QCOMPARE(image.size(), view->size() * view->devicePixelRatio());
        // Not blank: the curves are drawn in colour on the chart's background.
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 3)
            for (int x = 0; x < image.width(); x += 3)
                colours.insert(image.pixel(x, y));
        QVERIFY(colours.size() > 20);
    }
}

void TestChartsPanel::exportToAnUnwritablePathSaysWhy()
{
    ChartsPanel panel;
    panel.resize(900, 400);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.setDocument(11, QStringLiteral("Unwritable"));
    panel.setMemoryData(bookData(11, 5000, 2));
    QVERIFY(panel.isChartShown(ChartsPanel::Perplexity));

    // Under a regular file (fails even for root): the path and the system's reason.
    const QString file = m_dir->filePath(QStringLiteral("plain.txt"));
    {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not a folder");
    }
    const QString path = file + QStringLiteral("/chart.png");
    const QString error = panel.exportPng(ChartsPanel::Perplexity, path);
    QVERIFY2(error.contains(QStringLiteral("cannot be saved to")), qPrintable(error));
    QVERIFY2(error.contains(QDir::toNativeSeparators(path)), qPrintable(error));
    QVERIFY2(error.section(QStringLiteral("': "), 1).size() > 3, qPrintable(error));  // the reason
    QVERIFY(!QFile::exists(path));
    // A folder.
    const QString folderError = panel.exportPng(ChartsPanel::Perplexity, m_dir->path());
    QVERIFY2(folderError.contains(QStringLiteral("it is a folder")), qPrintable(folderError));
    // A folder that does not exist.
    const QString missing = m_dir->filePath(QStringLiteral("no/such/folder/chart.png"));
    const QString missingError = panel.exportPng(ChartsPanel::Perplexity, missing);
    QVERIFY2(missingError.contains(QDir::toNativeSeparators(missing)), qPrintable(missingError));
    QVERIFY(!QFile::exists(missing));
}

void TestChartsPanel::theDockInTheWindow()
{
    const QString db = m_dir->filePath(QStringLiteral("library.sqlite3"));
    FakeMemoryService fake;
    qint64 docId = 0;
    {
        // Without a service the dock says the memory is not available.
        mm::ui::MainWindow window(db);
        window.resize(1300, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QDockWidget* dock = window.dock(QStringLiteral("chartsDock"));
        QVERIFY(dock);
        QCOMPARE(dock->windowTitle(), QStringLiteral("Charts"));
        QVERIFY(window.chartsPanel());
        mm::ui::MemoryGate* gate = window.memoryGate(QStringLiteral("chartsDock"));
        QVERIFY(gate && !gate->isOpen());
        QVERIFY(gate->message().contains(QStringLiteral("not available")));
        // In the View menu, with the other docks.
        QMenu* view = nullptr;
        for (QAction* a : window.menuBar()->actions()) {
            if (a->text().remove(QLatin1Char('&')) == QStringLiteral("View"))
                view = a->menu();
        }
        QVERIFY(view);
        QVERIFY(view->actions().contains(dock->toggleViewAction()));

        window.setMemoryService(&fake);
        QSignalSpy shown(&window, &mm::ui::MainWindow::documentShown);
        window.importFiles({kBook});
        QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, kWaitMs);
        docId = window.currentDocumentId();
        // Not read: the gate offers to read it.
        QTRY_VERIFY(gate->message().contains(QStringLiteral("Read this book with the model first")));
        QVERIFY(window.chartsPanel()->placeholderText(ChartsPanel::Perplexity).contains(QStringLiteral("not been read")));

        // Read (the fake has it already): the map arrives, the perplexity chart is drawn;
        // the fidelity curves are measured once the Charts tab is shown.
        const QString text = window.readingView()->toPlainText();
        QVector<mm::ui::MemoryChapterMark> chapters;
        auto it = QRegularExpression(QStringLiteral("CHAPTER [IVX]+[^\\n]*")).globalMatch(text);
        while (it.hasNext()) {
            const auto m = it.next();
            chapters.push_back({m.capturedStart(), m.captured().simplified()});
        }
        const auto book = mm::test::bookFromText(text, docId, 4, chapters);
        fake.addBook(docId, book, true);
        window.readOpenDocumentWithModel();
        QTRY_VERIFY_WITH_TIMEOUT(gate->isOpen(), kWaitMs);
        ChartsPanel* panel = window.chartsPanel();
        QVERIFY(panel->isChartShown(ChartsPanel::Perplexity));
        QCOMPARE(panel->perplexitySeries()->count(), 200);
        QCOMPARE(fake.fidelityRequests.size(), 0);  // behind the memory map's tab
        dock->raise();
        QTRY_VERIFY(panel->isVisible());
        QTRY_VERIFY(panel->isChartShown(ChartsPanel::Fidelity));
        QCOMPARE(fake.fidelityRequests.size(), 1);
        QCOMPARE(fake.fidelityRequests.first().docId, docId);
        QCOMPARE(panel->fidelityLayers(), (QVector<int>{0, 1, 2, 3}));
        // The map's layer selection picks the curves.
        window.memoryMapPanel()->layerButton(1)->click();
        QCOMPARE(panel->fidelityLayers(), (QVector<int>{0, 2, 3}));
        // The reading position follows the reader.
        window.readingView()->scrollToPosition(window.readingView()->codePointCount() / 2);
        const qint64 position = window.readingView()->position();
        const auto& chars = book.data->tokenChars;
        const qint64 token = qint64(std::upper_bound(chars.cbegin(), chars.cend(), position) - chars.cbegin()) - 1;
        QTRY_COMPARE(panel->readingPositionSeries()->at(0).x(), double(token));

        dock->close();
        window.close();
    }
    // The next session: the dock stays closed (saved with the other docks' layout).
    mm::ui::MainWindow window(db);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(window.dock(QStringLiteral("chartsDock"))->isHidden());
    QVERIFY(!window.dock(QStringLiteral("memoryMapDock"))->isHidden());
    Q_UNUSED(docId)
}

void TestChartsPanel::screenshot()
{
    const QString dir = qEnvironmentVariable("MEMMAMBA_SCREENSHOT_DIR");
    if (dir.isEmpty())
        QSKIP("set MEMMAMBA_SCREENSHOT_DIR to save the screenshot");
    FakeMemoryService fake;
    const auto book = mm::test::makeSyntheticBook(60000, 8, 12, false);
    book.data->docId = 12;
    fake.addBook(12, book, true);
    ChartsPanel panel;
    connectPanel(panel, fake);
    panel.resize(1400, 420);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.setDocument(12, QStringLiteral("a synthetic book"));
    panel.setMemoryData(book.data);
    panel.setLayers({0, 3, 7});
    panel.setReadingPosition(book.data->tokenChars[25000]);
    QTRY_VERIFY(panel.isChartShown(ChartsPanel::Fidelity));
    QTest::qWait(100);
    QVERIFY(panel.grab().save(dir + QStringLiteral("/charts-synthetic.png")));
}

QTEST_MAIN(TestChartsPanel)
#include "tst_charts_panel.moc"
