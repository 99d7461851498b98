// The memory map on synthetic data: the pre-aggregated bins add up to the exact totals at
// every zoom level and width; a hover names the right token; a click emits the right
// character position; wheel, keys and buttons zoom; a 1M-token book indexes and paints
// without walking its tokens per frame.
#include "synthetic_memory.h"
#include "ui/memory_map_index.h"
#include "ui/memory_map_panel.h"
#include "ui/memory_map_widget.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>
#include <QToolButton>
#include <QWheelEvent>

using mm::ui::MemoryMapIndex;
using mm::ui::MemoryMapWidget;

namespace {

struct Brute {
    qint64 insertions = 0, evictions = 0;
    double importanceSum = 0;
    float importanceMax = 0;
};

Brute brute(const mm::ui::MemoryMapData& d, int layer, qint64 b, qint64 e)
{
    Brute out;
    for (const auto& note : d.notes) {
        if (note.layer == layer && note.position >= b && note.position < e) {
            ++out.insertions;
            if (note.evictedPosition >= 0)
                ++out.evictions;
        }
    }
    for (qint64 t = b; t < e; ++t) {
        out.importanceSum += d.importance[layer][t];
        out.importanceMax = std::max(out.importanceMax, d.importance[layer][t]);
    }
    return out;
}

}  // namespace

class TestMemoryMap : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void binsMatchBruteForce();
    void cellsPartitionEveryZoomLevel();
    void widgetZoomKeepsTotals();
    void hoverNamesTheToken();
    void clickEmitsCharPosition();
    void wheelKeysAndButtonsZoom();
    void layerSelection();
    void clearWhileIndexing();
    void millionTokenBook();
    void screenshot();

private:
    mm::test::SyntheticBook m_book;
    std::shared_ptr<MemoryMapIndex> m_index;
};

void TestMemoryMap::initTestCase()
{
    m_book = mm::test::makeSyntheticBook(20000, 4);
    m_index = std::make_shared<MemoryMapIndex>(m_book.data);
    QVERIFY(m_book.data->notes.size() > 100);
    const bool anyEviction = std::any_of(m_book.data->notes.cbegin(), m_book.data->notes.cend(),
                                         [](const auto& n) { return n.evictedPosition >= 0; });
    QVERIFY(anyEviction);
}

void TestMemoryMap::binsMatchBruteForce()
{
    mm::test::Lcg rng(7);
    const qint64 n = m_index->tokenCount();
    for (int i = 0; i < 200; ++i) {
        qint64 a = qint64(rng.next() % uint32_t(n + 1));
        qint64 b = qint64(rng.next() % uint32_t(n + 1));
        if (i % 4 == 0)
            b = std::min(n, a + qint64(rng.next() % 40));  // short, unaligned ranges
        if (a > b)
            std::swap(a, b);
        const int layer = int(rng.next() % 4);
        const auto bin = m_index->layerBin(layer, a, b);
        const Brute ref = brute(*m_book.data, layer, a, b);
        QCOMPARE(bin.tokens, b - a);
        QCOMPARE(bin.insertions, ref.insertions);
        QCOMPARE(bin.evictions, ref.evictions);
        QVERIFY2(std::abs(bin.importanceSum - ref.importanceSum) <= 1e-3 * std::max(1.0, ref.importanceSum),
                 qPrintable(QStringLiteral("%1 vs %2 over [%3,%4)").arg(bin.importanceSum).arg(ref.importanceSum).arg(a).arg(b)));
        QCOMPARE(bin.importanceMax, ref.importanceMax);
    }
    // Surprisal: NaN (the first token) counts as 0.
    double sum = 0;
    for (qint64 t = 1; t < n; ++t)
        sum += double(m_book.data->surprisal[t]);
    QVERIFY(std::abs(m_index->surprisalBin(0, n).sum - sum) <= 1e-4 * sum);
}

void TestMemoryMap::cellsPartitionEveryZoomLevel()
{
    const qint64 n = m_index->tokenCount();
    for (int width : {1, 7, 333, 640, 1999, 30000}) {
        for (qint64 span = n; span >= 16; span /= 3) {
            const qint64 begin = (n - span) / 2;
            const auto cells = MemoryMapIndex::cells(begin, begin + span, width);
            QVERIFY(!cells.isEmpty());
            QCOMPARE(cells.first().tokenBegin, begin);
            QCOMPARE(cells.last().tokenEnd, begin + span);
            QCOMPARE(cells.first().x0, 0);
            QCOMPARE(cells.last().x1, width);
            qint64 ins[4] = {}, ev[4] = {};
            for (int i = 0; i < cells.size(); ++i) {
                if (i > 0) {
                    QCOMPARE(cells[i].tokenBegin, cells[i - 1].tokenEnd);  // no gap, no overlap
                    QVERIFY(cells[i].x0 >= cells[i - 1].x1 - 0);
                }
                QVERIFY(cells[i].tokenEnd > cells[i].tokenBegin);
                QVERIFY(cells[i].x1 > cells[i].x0);
                for (int l = 0; l < 4; ++l) {
                    const auto bin = m_index->layerBin(l, cells[i].tokenBegin, cells[i].tokenEnd);
                    ins[l] += bin.insertions;
                    ev[l] += bin.evictions;
                }
            }
            for (int l = 0; l < 4; ++l) {
                const Brute ref = brute(*m_book.data, l, begin, begin + span);
                QCOMPARE(ins[l], ref.insertions);
                QCOMPARE(ev[l], ref.evictions);
            }
        }
    }
}

void TestMemoryMap::widgetZoomKeepsTotals()
{
    MemoryMapWidget map;
    map.resize(900, 300);
    map.setIndex(m_index);
    QCOMPARE(map.viewBegin(), 0);
    QCOMPARE(map.viewEnd(), m_index->tokenCount());
    int levels = 0;
    while (true) {
        const auto cells = map.visibleCells();
        qint64 tokens = 0, ins = 0;
        for (const auto& c : cells) {
            tokens += c.tokenEnd - c.tokenBegin;
            ins += m_index->layerBin(2, c.tokenBegin, c.tokenEnd).insertions;
        }
        QCOMPARE(tokens, map.viewEnd() - map.viewBegin());
        QCOMPARE(ins, brute(*m_book.data, 2, map.viewBegin(), map.viewEnd()).insertions);
        ++levels;
        const qint64 span = map.viewEnd() - map.viewBegin();
        if (span <= MemoryMapWidget::kMinSpan)
            break;
        map.zoomIn();
        QVERIFY(map.viewEnd() - map.viewBegin() < span);
    }
    QVERIFY(levels >= 9);  // 20000 tokens down to 32: the whole book to two lines
    map.zoomToWholeBook();
    QCOMPARE(map.viewEnd() - map.viewBegin(), m_index->tokenCount());
}

void TestMemoryMap::hoverNamesTheToken()
{
    MemoryMapWidget map;
    map.resize(900, 300);
    map.setIndex(m_index);
    map.setDocumentText(m_book.text);
    // Zoomed to 100 tokens: each token is 8+ pixels wide, the hover names it exactly.
    const qint64 begin = 5000;
    map.setView(begin, begin + 100);
    const QRect row = map.layerRect(1);
    QVERIFY(!row.isEmpty());
    const QRect plot = map.plotRect();
    for (qint64 t : {begin, begin + 1, begin + 37, begin + 99}) {
        const int x = plot.left() + int(((t - begin) * plot.width() + plot.width() / 2) / 100);
        const auto hit = map.hitAt(QPoint(x, row.center().y()));
        QCOMPARE(hit.area, MemoryMapWidget::Hit::Layer);
        QCOMPARE(hit.layer, 1);
        QCOMPARE(hit.token, t);
        QCOMPARE(hit.charPosition, m_book.data->tokenChars[t]);
        const QString tip = map.toolTipAt(QPoint(x, row.center().y()));
        const QString word = m_book.text.mid(int(m_book.data->tokenChars[t]), m_book.tokenLengths[int(t)]);
        QVERIFY2(tip.contains(QStringLiteral("«%1").arg(word)), qPrintable(tip));
        QVERIFY2(tip.contains(QStringLiteral("importance %1").arg(double(m_book.data->importance[1][t]), 0, 'f', 2)),
                 qPrintable(tip));
        QVERIFY2(tip.contains(QStringLiteral("Layer 1")), qPrintable(tip));
    }
    // A noted token says its slot.
    const auto& notes = m_book.data->notes;
    const auto noted = std::find_if(notes.cbegin(), notes.cend(), [&](const auto& n) { return n.layer == 1 && n.position >= begin; });
    QVERIFY(noted != notes.cend());
    map.setView(noted->position, noted->position + 100);
    const QString tip = map.toolTipAt(QPoint(plot.left() + 2, row.center().y()));
    QVERIFY2(tip.contains(QStringLiteral("slot %1").arg(noted->slot)), qPrintable(tip));

    // Whole book: a column holds ~22 tokens; the hover names its highest-scoring note.
    map.zoomToWholeBook();
    const auto cells = map.visibleCells();
    const auto& cell = cells[cells.size() / 2];
    const auto hit = map.hitAt(QPoint(plot.left() + cell.x0, row.center().y()));
    QCOMPARE(hit.tokenBegin, cell.tokenBegin);
    QCOMPARE(hit.tokenEnd, cell.tokenEnd);
    float best = -1;
    qint64 bestToken = cell.tokenBegin;
    for (const auto& n : notes) {
        if (n.layer == 1 && n.position >= cell.tokenBegin && n.position < cell.tokenEnd && n.score > best) {
            best = n.score;
            bestToken = n.position;
        }
    }
    QCOMPARE(hit.token, bestToken);
    // The surprisal track names the cell's most surprising token.
    const auto sHit = map.hitAt(QPoint(plot.left() + cell.x0, map.surprisalRect().center().y()));
    QCOMPARE(sHit.area, MemoryMapWidget::Hit::Surprisal);
    for (qint64 t = cell.tokenBegin; t < cell.tokenEnd; ++t)
        QVERIFY(m_book.data->surprisal[t] <= m_book.data->surprisal[sHit.token]);
}

void TestMemoryMap::clickEmitsCharPosition()
{
    MemoryMapWidget map;
    map.resize(900, 300);
    map.show();
    QVERIFY(QTest::qWaitForWindowExposed(&map));
    map.setIndex(m_index);
    QSignalSpy jumped(&map, &MemoryMapWidget::positionActivated);
    const QRect plot = map.plotRect();
    const auto cells = map.visibleCells();
    const auto& cell = cells[300];
    QTest::mouseClick(&map, Qt::LeftButton, {}, QPoint(plot.left() + cell.x0, map.layerRect(0).center().y()));
    QCOMPARE(jumped.count(), 1);
    QCOMPARE(jumped.first().first().toLongLong(), m_book.data->tokenChars[cell.tokenBegin]);

    map.setView(1234, 1234 + 64);
    jumped.clear();
    const int x = plot.left() + (10 * plot.width() + plot.width() / 2) / 64;  // token 1244
    QTest::mouseClick(&map, Qt::LeftButton, {}, QPoint(x, map.surprisalRect().center().y()));
    QCOMPARE(jumped.count(), 1);
    QCOMPARE(jumped.first().first().toLongLong(), m_book.data->tokenChars[1244]);

    // A drag pans and does not jump.
    jumped.clear();
    const qint64 before = map.viewBegin();
    QTest::mousePress(&map, Qt::LeftButton, {}, QPoint(400, 100));
    QMouseEvent move(QEvent::MouseMove, QPointF(300, 100), map.mapToGlobal(QPointF(300, 100)), Qt::NoButton,
                     Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&map, &move);
    QTest::mouseRelease(&map, Qt::LeftButton, {}, QPoint(300, 100));
    QCOMPARE(jumped.count(), 0);
    QVERIFY(map.viewBegin() > before);
}

void TestMemoryMap::wheelKeysAndButtonsZoom()
{
    mm::ui::MemoryMapPanel panel;
    panel.resize(900, 320);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.setIndex(m_index, m_book.text);
    MemoryMapWidget* map = panel.map();
    const qint64 n = m_index->tokenCount();

    // Wheel up over the middle: zooms in around the pointer (the middle token stays).
    const QRect plot = map->plotRect();
    const QPointF mid(plot.left() + plot.width() / 2.0, map->layerRect(0).center().y());
    QWheelEvent wheel(mid, map->mapToGlobal(mid), QPoint(), QPoint(0, 120 * 3), Qt::NoButton, Qt::NoModifier,
                      Qt::NoScrollPhase, false);
    QApplication::sendEvent(map, &wheel);
    const qint64 span = map->viewEnd() - map->viewBegin();
    QVERIFY(span < n);
    QVERIFY(std::abs((map->viewBegin() + map->viewEnd()) / 2 - n / 2) <= span / 50 + 2);

    map->setFocus();
    QTest::keyClick(map, Qt::Key_0);
    QCOMPARE(map->viewEnd() - map->viewBegin(), n);
    QTest::keyClick(map, Qt::Key_Plus);
    QCOMPARE(map->viewEnd() - map->viewBegin(), n / 2);
    QTest::keyClick(map, Qt::Key_Right);
    QVERIFY(map->viewBegin() > n / 4);
    QTest::keyClick(map, Qt::Key_Minus);
    QCOMPARE(map->viewEnd() - map->viewBegin(), n);

    auto* zoomIn = panel.findChild<QToolButton*>(QStringLiteral("zoomIn"));
    QVERIFY(zoomIn);
    zoomIn->click();
    QCOMPARE(map->viewEnd() - map->viewBegin(), n / 2);
    map->setReadingPosition(m_book.data->tokenChars[15000]);
    panel.findChild<QToolButton*>(QStringLiteral("zoomHere"))->click();
    QVERIFY(map->viewBegin() <= 15000 && 15000 < map->viewEnd());
    QVERIFY(map->viewEnd() - map->viewBegin() <= 1000);
    panel.findChild<QToolButton*>(QStringLiteral("zoomBook"))->click();
    QCOMPARE(map->viewEnd() - map->viewBegin(), n);
}

void TestMemoryMap::layerSelection()
{
    mm::ui::MemoryMapPanel panel;
    panel.resize(900, 320);
    panel.setSelectedLayers({1, 3});  // before the data: applied when it arrives
    QSignalSpy ready(&panel, &mm::ui::MemoryMapPanel::indexReady);
    panel.setData(m_book.data, m_book.text);  // indexed on a worker thread
    QTRY_COMPARE(ready.count(), 1);
    QCOMPARE(panel.layerCount(), 4);
    QCOMPARE(panel.selectedLayers(), (QVector<int>{1, 3}));
    QVERIFY(panel.map()->layerRect(0).isEmpty());
    QVERIFY(!panel.map()->layerRect(3).isEmpty());
    QSignalSpy changed(&panel, &mm::ui::MemoryMapPanel::layerSelectionChanged);
    panel.layerButton(0)->click();
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.first().first().value<QVector<int>>(), (QVector<int>{0, 1, 3}));
    QVERIFY(!panel.map()->layerRect(0).isEmpty());
}

void TestMemoryMap::clearWhileIndexing()
{
    // A document switched while its map is being indexed never shows the old map.
    mm::ui::MemoryMapPanel panel;
    QSignalSpy ready(&panel, &mm::ui::MemoryMapPanel::indexReady);
    const auto big = mm::test::makeSyntheticBook(200000, 8, 4, false);
    panel.setData(big.data, QString());
    panel.clear();
    QTest::qWait(300);
    QCOMPARE(ready.count(), 0);
    QVERIFY(!panel.map()->hasData());
    // Two in a row: only the last one shows.
    panel.setData(big.data, QString());
    panel.setData(m_book.data, m_book.text);
    QTRY_COMPARE(ready.count(), 1);
    QTest::qWait(100);
    QCOMPARE(ready.count(), 1);
    QCOMPARE(panel.map()->index()->tokenCount(), m_book.data->tokenCount());
}

void TestMemoryMap::millionTokenBook()
{
    QElapsedTimer timer;
    timer.start();
    const auto book = mm::test::makeSyntheticBook(1'000'000, 8, 40, false);
    const qint64 makeMs = timer.restart();
    auto index = std::make_shared<MemoryMapIndex>(book.data);
    const qint64 indexMs = timer.restart();
    MemoryMapWidget map;
    map.resize(1600, 400);
    map.setIndex(index);
    const QPixmap whole = map.grab();
    const qint64 paintMs = timer.restart();
    map.setView(400'000, 401'000);
    map.grab();
    map.zoomToWholeBook();
    map.zoomBy(3.0, 0.3);
    map.grab();
    const qint64 zoomMs = timer.elapsed();
    qInfo("1M tokens x 8 layers: synthesis %lld ms, index %lld ms, first paint %lld ms, two zoomed paints %lld ms",
          makeMs, indexMs, paintMs, zoomMs);
    QVERIFY(!whole.isNull());
    QVERIFY2(paintMs < 3000, "a whole-book paint reads the pyramid, not the tokens");
    // Totals at full zoom-out are exact on the big book too.
    qint64 ins = 0;
    for (const auto& c : MemoryMapIndex::cells(0, index->tokenCount(), 1600))
        ins += index->layerBin(5, c.tokenBegin, c.tokenEnd).insertions;
    const qint64 ref = std::count_if(book.data->notes.cbegin(), book.data->notes.cend(),
                                     [](const auto& n) { return n.layer == 5; });
    QCOMPARE(ins, ref);
}

/// MEMMAMBA_SCREENSHOT_DIR=docs/screenshots writes the map of a synthetic book (docs/ui.md).
void TestMemoryMap::screenshot()
{
    const QString dir = qEnvironmentVariable("MEMMAMBA_SCREENSHOT_DIR");
    if (dir.isEmpty())
        QSKIP("set MEMMAMBA_SCREENSHOT_DIR to write the screenshot");
    const auto book = mm::test::makeSyntheticBook(60000, 8, 6, true);
    mm::ui::MemoryMapPanel panel;
    panel.resize(960, 330);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.setIndex(std::make_shared<MemoryMapIndex>(book.data), book.text);
    panel.map()->setReadingPosition(book.data->tokenChars[21000]);
    QVector<QPair<int, qint64>> held;
    for (const auto& e : mm::test::poolAt(book, book.data->tokenChars[21000]).entries)
        held.push_back({e.layer, e.tokenPosition});
    panel.map()->setPoolTokens(held);
    QCoreApplication::processEvents();  // the layer buttons and labels are laid out
    QVERIFY(panel.grab().save(dir + QStringLiteral("/memory-map.png")));
    // Zoomed to a stretch around the reading position, the pointer over a note of layer 2.
    auto* map = panel.map();
    const auto& notes = book.data->notes;
    const auto note = std::find_if(notes.cbegin(), notes.cend(), [](const auto& n) { return n.layer == 2 && n.position > 20000; });
    QVERIFY(note != notes.cend());
    map->setView(note->position - 400, note->position + 1600);
    const QRect plot = map->plotRect();
    const QPoint over(plot.left() + int((400.5) * plot.width() / 2000), map->layerRect(2).center().y());
    QMouseEvent move(QEvent::MouseMove, QPointF(over), map->mapToGlobal(QPointF(over)), Qt::NoButton, Qt::NoButton,
                     Qt::NoModifier);
    QApplication::sendEvent(map, &move);
    QVERIFY(panel.grab().save(dir + QStringLiteral("/memory-map-zoomed.png")));
}

QTEST_MAIN(TestMemoryMap)
#include "tst_memory_map.moc"
