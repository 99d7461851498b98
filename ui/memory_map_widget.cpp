#include "ui/memory_map_widget.h"

#include "ui/token_text.h"

#include <QGestureEvent>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QLocale>
#include <QMouseEvent>
#include <QNativeGestureEvent>
#include <QPainter>
#include <QPinchGesture>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace mm::ui {

namespace {
const QColor kPaper(0xfb, 0xf8, 0xf1);
const QColor kInk(0x2d, 0x2a, 0x26);
const QColor kAmber(0xd9, 0x90, 0x2f);
const QColor kTeal(0x1f, 0x6f, 0x78);
const QColor kCrimson(0xb8, 0x32, 0x3a);
const QColor kSlate(0x5b, 0x6b, 0x7a);
const QColor kRule(0xd8, 0xd0, 0xc0);

QColor mix(const QColor& a, const QColor& b, double t)
{
    t = std::clamp(t, 0.0, 1.0);
    return QColor::fromRgbF(float(a.redF() + (b.redF() - a.redF()) * t),
                            float(a.greenF() + (b.greenF() - a.greenF()) * t),
                            float(a.blueF() + (b.blueF() - a.blueF()) * t));
}

QColor withAlpha(QColor c, double alpha)
{
    c.setAlphaF(float(std::clamp(alpha, 0.0, 1.0)));
    return c;
}

QString number(qint64 n)
{
    return QLocale().toString(n);
}
}  // namespace

MemoryMapWidget::MemoryMapWidget(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("memoryMap"));
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    setAttribute(Qt::WA_OpaquePaintEvent);
    grabGesture(Qt::PinchGesture);
    setAccessibleName(tr("Memory map"));
    setAccessibleDescription(tr("The model's notes, evictions and importance per layer along the book. "
                                "Plus and minus zoom, 0 shows the whole book, the arrow keys move."));
    setToolTip(QString());  // tooltips are computed per point in event()
}

void MemoryMapWidget::setIndex(std::shared_ptr<const MemoryMapIndex> index)
{
    m_index = std::move(index);
    m_viewBegin = 0;
    m_viewEnd = m_index ? m_index->tokenCount() : 0;
    invalidate();
    emit viewChanged(m_viewBegin, m_viewEnd);
}

void MemoryMapWidget::setDocumentText(const QString& text)
{
    m_text = text;
    m_textIndex = storage::CodePointIndex(text);
}

void MemoryMapWidget::clear()
{
    setIndex({});
    setDocumentText({});
    m_readingChar = -1;
    m_poolTokens.clear();
}

void MemoryMapWidget::setPoolTokens(const QVector<QPair<int, qint64>>& tokens)
{
    m_poolTokens = tokens;
    update();
}

void MemoryMapWidget::setView(qint64 begin, qint64 end)
{
    if (!m_index)
        return;
    const qint64 n = m_index->tokenCount();
    qint64 span = std::clamp(end - begin, std::min(kMinSpan, n), n);
    begin = std::clamp<qint64>(begin, 0, n - span);
    if (begin == m_viewBegin && begin + span == m_viewEnd)
        return;
    m_viewBegin = begin;
    m_viewEnd = begin + span;
    invalidate();
    emit viewChanged(m_viewBegin, m_viewEnd);
}

QVector<int> MemoryMapWidget::shownLayers() const
{
    return m_layers;
}

void MemoryMapWidget::setShownLayers(const QVector<int>& layers)
{
    if (layers == m_layers)
        return;
    m_layers = layers;
    invalidate();
}

QVector<int> MemoryMapWidget::effectiveLayers() const
{
    QVector<int> out;
    const int count = m_index ? m_index->layerCount() : 0;
    for (int layer : m_layers) {
        if (layer >= 0 && layer < count && !out.contains(layer))
            out << layer;
    }
    if (out.isEmpty()) {
        for (int layer = 0; layer < count; ++layer)
            out << layer;
    }
    return out;
}

QRect MemoryMapWidget::plotRect() const
{
    return QRect(kGutter, kRulerHeight, std::max(1, width() - kGutter - 8),
                 std::max(1, height() - kRulerHeight - kTrackHeight - 4));
}

QRect MemoryMapWidget::layerRect(int layer) const
{
    const QVector<int> layers = effectiveLayers();
    const int row = int(layers.indexOf(layer));
    if (row < 0)
        return {};
    const QRect plot = plotRect();
    const double h = double(plot.height()) / layers.size();
    const int top = plot.top() + int(std::lround(row * h));
    const int bottom = plot.top() + int(std::lround((row + 1) * h));
    const int gap = h >= 8 ? 2 : 0;
    return QRect(plot.left(), top, plot.width(), std::max(1, bottom - top - gap));
}

QRect MemoryMapWidget::surprisalRect() const
{
    const QRect plot = plotRect();
    return QRect(plot.left(), height() - kTrackHeight, plot.width(), kTrackHeight - 2);
}

QVector<MemoryMapCell> MemoryMapWidget::visibleCells() const
{
    if (!hasData())
        return {};
    return MemoryMapIndex::cells(m_viewBegin, m_viewEnd, plotRect().width());
}

int MemoryMapWidget::xForToken(double token) const
{
    const QRect plot = plotRect();
    const double span = double(std::max<qint64>(1, m_viewEnd - m_viewBegin));
    return plot.left() + int(std::floor((token - double(m_viewBegin)) * plot.width() / span));
}

void MemoryMapWidget::invalidate()
{
    m_cacheValid = false;
    update();
}

void MemoryMapWidget::rebuildCache()
{
    // At the screen's pixel ratio, so the ticks stay sharp on high-DPI screens.
    const qreal dpr = devicePixelRatioF();
    m_cache = QImage(size() * dpr, QImage::Format_RGB32);
    m_cache.setDevicePixelRatio(dpr);
    m_cache.fill(kPaper);
    m_cacheValid = true;
    if (!hasData())
        return;
    QPainter p(&m_cache);
    const QVector<MemoryMapCell> cells = visibleCells();
    const QRect plot = plotRect();

    for (int layer : effectiveLayers()) {
        const QRect row = layerRect(layer);
        QVector<MemoryBin> bins;
        bins.reserve(cells.size());
        // Importance is stretched over the view's range per layer (a floor of 0.05 keeps
        // a flat row from showing its noise as contrast).
        double maxMean = 0, minMean = 1;
        qint64 maxIns = 0, maxEv = 0;
        for (const MemoryMapCell& c : cells) {
            bins << m_index->layerBin(layer, c.tokenBegin, c.tokenEnd);
            maxMean = std::max(maxMean, bins.last().importanceMean());
            minMean = std::min(minMean, bins.last().importanceMean());
            maxIns = std::max(maxIns, bins.last().insertions);
            maxEv = std::max(maxEv, bins.last().evictions);
        }
        p.fillRect(row, mix(kPaper, kRule, 0.35));
        const int insHeight = std::max(1, row.height() * 45 / 100);
        const int evHeight = std::max(1, row.height() * 25 / 100);
        for (int i = 0; i < cells.size(); ++i) {
            const MemoryMapCell& c = cells[i];
            const MemoryBin& b = bins[i];
            const QRect cell(plot.left() + c.x0, row.top(), std::max(1, c.x1 - c.x0), row.height());
            if (maxMean > 0 && b.importanceSum > 0) {
                const double lo = std::min(minMean, maxMean - 0.05);
                const double t = (b.importanceMean() - lo) / std::max(1e-9, maxMean - lo);
                p.fillRect(cell, mix(kPaper, kAmber, 0.08 + 0.72 * t));
            }
            if (b.insertions > 0)
                p.fillRect(QRect(cell.left(), cell.top(), cell.width(), insHeight),
                           withAlpha(kTeal, 0.35 + 0.65 * double(b.insertions) / double(maxIns)));
            if (b.evictions > 0)
                p.fillRect(QRect(cell.left(), cell.bottom() - evHeight + 1, cell.width(), evHeight),
                           withAlpha(kCrimson, 0.35 + 0.65 * double(b.evictions) / double(maxEv)));
        }
    }

    // Surprisal: mean per column as a bar, the column's maximum as a faint whisker.
    const QRect track = surprisalRect();
    p.fillRect(track, mix(kPaper, kRule, 0.35));
    double scale = m_index->maxSurprisalMean();
    QVector<SurprisalBin> sbins;
    sbins.reserve(cells.size());
    double maxOfMax = 0;
    for (const MemoryMapCell& c : cells) {
        sbins << m_index->surprisalBin(c.tokenBegin, c.tokenEnd);
        scale = std::max(scale, sbins.last().mean());
        maxOfMax = std::max(maxOfMax, double(sbins.last().max));
    }
    if (scale > 0) {
        const double whiskerScale = std::max(scale, maxOfMax);
        for (int i = 0; i < cells.size(); ++i) {
            const MemoryMapCell& c = cells[i];
            const int x = plot.left() + c.x0;
            const int w = std::max(1, c.x1 - c.x0);
            const int hMax = int(std::lround(track.height() * sbins[i].max / whiskerScale));
            const int hMean = int(std::lround(track.height() * sbins[i].mean() / scale));
            p.fillRect(QRect(x, track.bottom() - hMax + 1, w, hMax), withAlpha(kSlate, 0.18));
            p.fillRect(QRect(x, track.bottom() - hMean + 1, w, hMean), withAlpha(kSlate, 0.85));
        }
    }
}

void MemoryMapWidget::paintEvent(QPaintEvent*)
{
    if (!m_cacheValid || m_cache.deviceIndependentSize().toSize() != size()
        || m_cache.devicePixelRatio() != devicePixelRatioF())
        rebuildCache();
    QPainter p(this);
    p.drawImage(0, 0, m_cache);
    if (!hasData()) {
        p.setPen(kSlate);
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("No memory map for this document."));
        return;
    }
    const QRect plot = plotRect();
    const QRect track = surprisalRect();
    const qint64 span = m_viewEnd - m_viewBegin;

    // Layer labels, the hovered row's in bold.
    const Hit hover = m_hover.x() >= 0 ? hitAt(m_hover) : Hit{};
    QFont small = font();
    small.setPointSizeF(std::max(6.5, font().pointSizeF() * 0.8));
    p.setFont(small);
    for (int layer : effectiveLayers()) {
        const QRect row = layerRect(layer);
        QFont f = small;
        f.setBold(hover.area == Hit::Layer && hover.layer == layer);
        p.setFont(f);
        p.setPen(kInk);
        if (row.height() >= 8)
            p.drawText(QRect(2, row.top(), kGutter - 6, row.height()), Qt::AlignRight | Qt::AlignVCenter,
                       QStringLiteral("L%1").arg(layer));
    }
    p.setFont(small);
    p.setPen(kSlate);
    p.drawText(QRect(2, track.top(), kGutter - 6, track.height()), Qt::AlignRight | Qt::AlignVCenter,
               tr("surp."));

    // Chapter marks: a tick and title on the ruler, a faint line through the rows.
    const auto& chapters = m_index->data().chapters;
    int lastLabelRight = -1;
    for (const MemoryChapterMark& mark : chapters) {
        const qint64 token = m_index->tokenAtChar(mark.charPosition);
        if (token < m_viewBegin || token >= m_viewEnd)
            continue;
        const int x = xForToken(double(token));
        p.setPen(withAlpha(kInk, 0.22));
        p.drawLine(x, plot.top(), x, track.bottom());
        p.setPen(kInk);
        p.drawLine(x, 3, x, kRulerHeight - 2);
        const QString title = mark.title.simplified();
        const int available = plot.right() - x - 4;
        if (x > lastLabelRight && available > 24) {
            const QString label = p.fontMetrics().elidedText(title, Qt::ElideRight, std::min(available, 160));
            const int w = p.fontMetrics().horizontalAdvance(label);
            p.drawText(QRect(x + 3, 0, w + 2, kRulerHeight), Qt::AlignLeft | Qt::AlignVCenter, label);
            lastLabelRight = x + w + 12;
        }
    }
    // Where the view is in the book, when zoomed in.
    if (span < m_index->tokenCount()) {
        const double n = double(m_index->tokenCount());
        const int x0 = plot.left() + int(plot.width() * double(m_viewBegin) / n);
        const int w = std::max(3, int(plot.width() * double(span) / n));
        p.fillRect(QRect(x0, kRulerHeight - 3, w, 2), withAlpha(kTeal, 0.8));
    }

    // The reading position.
    if (m_readingChar >= 0) {
        const qint64 token = m_index->tokenAtChar(m_readingChar);
        if (token >= m_viewBegin && token < m_viewEnd) {
            const int x = xForToken(double(token));
            p.setPen(QPen(kInk, 2));
            p.drawLine(x, plot.top() - 2, x, track.bottom());
        }
    }

    // The notes held at the reading position: a small tick above each one's token.
    const QVector<int> shown = effectiveLayers();
    for (const auto& [layer, token] : std::as_const(m_poolTokens)) {
        if (token < m_viewBegin || token >= m_viewEnd || !shown.contains(layer))
            continue;
        const QRect row = layerRect(layer);
        const int x = xForToken(double(token) + 0.5);
        const QPoint tri[3] = {{x - 3, row.top()}, {x + 3, row.top()}, {x, row.top() + 4}};
        p.setPen(Qt::NoPen);
        p.setBrush(withAlpha(kInk, 0.75));
        p.drawPolygon(tri, 3);
    }

    // Over a note: its life in the pool, from where it was written to where it was
    // evicted (or on to the end, when it is still there).
    if (hover.area == Hit::Layer) {
        const int note = m_index->noteAt(hover.layer, hover.token);
        if (note >= 0) {
            const int evictor = m_index->evictionOf(hover.layer, hover.token);
            const qint64 end = evictor >= 0 ? m_index->data().notes[evictor].position : m_index->tokenCount();
            const QRect row = layerRect(hover.layer);
            const int x0 = std::max(plot.left(), xForToken(double(hover.token) + 0.5));
            const int x1 = std::min(plot.right(), xForToken(double(end) + 0.5));
            const int y = row.center().y();
            p.setPen(QPen(kInk, 2));
            if (x1 > x0)
                p.drawLine(x0, y, x1, y);
            p.setBrush(kTeal);
            p.drawEllipse(QPoint(xForToken(double(hover.token) + 0.5), y), 3, 3);
            if (evictor >= 0) {
                p.setBrush(kCrimson);
                p.drawEllipse(QPoint(xForToken(double(end) + 0.5), y), 3, 3);
            }
        }
    }

    // The hovered cell.
    if (hover.area == Hit::Layer || hover.area == Hit::Surprisal) {
        const int x0 = xForToken(double(hover.tokenBegin));
        const int x1 = std::max(x0 + 1, xForToken(double(hover.tokenEnd)));
        const QRect band = hover.area == Hit::Layer ? layerRect(hover.layer) : track;
        p.setPen(QPen(kInk, 1));
        p.setBrush(Qt::NoBrush);
        p.drawRect(QRect(x0 - 1, band.top() - 1, x1 - x0 + 1, band.height() + 1));
    }
}

MemoryMapWidget::Hit MemoryMapWidget::hitAt(const QPoint& point) const
{
    Hit hit;
    if (!hasData())
        return hit;
    const QRect plot = plotRect();
    if (point.x() < plot.left() || point.x() > plot.right())
        return hit;
    const int x = point.x() - plot.left();
    const QVector<MemoryMapCell> cells = visibleCells();
    const auto it = std::upper_bound(cells.cbegin(), cells.cend(), x,
                                     [](int px, const MemoryMapCell& c) { return px < c.x1; });
    if (it == cells.cend() || x < it->x0)
        return hit;
    hit.tokenBegin = it->tokenBegin;
    hit.tokenEnd = it->tokenEnd;
    hit.token = it->tokenBegin;
    hit.charPosition = m_index->charStart(it->tokenBegin);

    if (point.y() < plot.top()) {
        hit.area = Hit::Ruler;
        return hit;
    }
    if (surprisalRect().adjusted(0, -2, 0, 2).contains(point)) {
        hit.area = Hit::Surprisal;
        if (hit.tokenEnd - hit.tokenBegin > 1) {
            // The most surprising token of the cell (the cell is at most a few
            // hundred tokens wide at a sensible window width; bounded anyway).
            float best = -1;
            const qint64 end = std::min(hit.tokenEnd, hit.tokenBegin + 4096);
            for (qint64 t = hit.tokenBegin; t < end; ++t) {
                const float s = m_index->surprisal(t);
                if (std::isfinite(s) && s > best) {
                    best = s;
                    hit.token = t;
                }
            }
        }
        return hit;
    }
    for (int layer : effectiveLayers()) {
        const QRect row = layerRect(layer);
        if (point.y() >= row.top() && point.y() <= row.bottom() + 2) {
            hit.area = Hit::Layer;
            hit.layer = layer;
            const QVector<int> notes = m_index->notesIn(layer, hit.tokenBegin, hit.tokenEnd);
            float best = -1;
            for (int idx : notes) {
                const MemoryNoteEvent& e = m_index->data().notes[idx];
                if (e.score > best) {
                    best = e.score;
                    hit.token = e.position;
                }
            }
            return hit;
        }
    }
    return {};
}

QString MemoryMapWidget::tokenText(qint64 token) const
{
    if (m_text.isEmpty() || !m_index)
        return {};
    return tokenDisplayText(m_text, m_textIndex.toUtf16(m_index->charStart(token)),
                            m_textIndex.toUtf16(m_index->charEnd(token)));
}

QString MemoryMapWidget::contextText(qint64 token) const
{
    if (m_text.isEmpty() || !m_index)
        return {};
    const qint64 from = m_textIndex.toUtf16(m_index->charStart(token));
    const qint64 to = tokenDisplayEnd(m_text, from, m_textIndex.toUtf16(m_index->charEnd(token)));
    const qint64 before = std::max<qint64>(0, from - 40);
    const qint64 after = std::min<qint64>(m_text.size(), to + 40);
    const QString pre = m_text.mid(int(before), int(from - before)).simplified();
    const QString tok = m_text.mid(int(from), int(to - from));
    const QString post = m_text.mid(int(to), int(after - to)).simplified();
    return QStringLiteral("…%1<b>%2</b>%3…")
        .arg(pre.toHtmlEscaped(), tok.toHtmlEscaped(), post.toHtmlEscaped());
}

QString MemoryMapWidget::toolTipAt(const QPoint& point) const
{
    const Hit hit = hitAt(point);
    if (hit.area == Hit::None)
        return {};
    QString chapter;
    for (const MemoryChapterMark& mark : m_index->data().chapters) {
        if (mark.charPosition <= m_index->charStart(hit.tokenBegin))
            chapter = mark.title.simplified();
    }
    QStringList lines;
    const QString range = hit.tokenEnd - hit.tokenBegin > 1
                              ? tr("tokens %1–%2").arg(number(hit.tokenBegin), number(hit.tokenEnd - 1))
                              : tr("token %1").arg(number(hit.tokenBegin));
    const QString token = tokenText(hit.token).toHtmlEscaped();
    if (hit.area == Hit::Ruler) {
        lines << range;
        if (!chapter.isEmpty())
            lines << chapter.toHtmlEscaped();
        return lines.join(QStringLiteral("<br>"));
    }
    if (hit.area == Hit::Surprisal) {
        const SurprisalBin bin = m_index->surprisalBin(hit.tokenBegin, hit.tokenEnd);
        lines << tr("<b>Surprisal</b> · %1").arg(range);
        lines << tr("«%1» %2 nats").arg(token).arg(double(m_index->surprisal(hit.token)), 0, 'f', 2);
        if (hit.tokenEnd - hit.tokenBegin > 1)
            lines << tr("mean %1, max %2 nats").arg(bin.mean(), 0, 'f', 2).arg(double(bin.max), 0, 'f', 2);
    } else {
        const MemoryBin bin = m_index->layerBin(hit.layer, hit.tokenBegin, hit.tokenEnd);
        lines << tr("<b>Layer %1</b> · %2").arg(hit.layer).arg(range);
        QString tokenLine = tr("«%1» importance %2").arg(token).arg(double(m_index->importance(hit.layer, hit.token)), 0, 'f', 2);
        const int note = m_index->noteAt(hit.layer, hit.token);
        if (note >= 0)
            tokenLine += tr(" · noted in slot %1").arg(m_index->data().notes[note].slot);
        const int evictedBy = m_index->evictionOf(hit.layer, hit.token);
        if (evictedBy >= 0)
            tokenLine += tr(" · evicted at token %1").arg(number(m_index->data().notes[evictedBy].position));
        lines << tokenLine;
        if (hit.tokenEnd - hit.tokenBegin > 1)
            lines << tr("%n note(s) written", nullptr, int(bin.insertions))
                         + tr(", %n evicted", nullptr, int(bin.evictions))
                         + tr(", mean importance %1").arg(bin.importanceMean(), 0, 'f', 3);
    }
    const QString context = contextText(hit.token);
    if (!context.isEmpty())
        lines << QStringLiteral("<i>%1</i>").arg(context);
    if (!chapter.isEmpty())
        lines << chapter.toHtmlEscaped();
    return lines.join(QStringLiteral("<br>"));
}

void MemoryMapWidget::zoomIn()
{
    zoomBy(2.0);
}

void MemoryMapWidget::zoomOut()
{
    zoomBy(0.5);
}

void MemoryMapWidget::zoomToWholeBook()
{
    if (m_index)
        setView(0, m_index->tokenCount());
}

void MemoryMapWidget::zoomToReadingPosition()
{
    if (!m_index)
        return;
    const qint64 token = m_index->tokenAtChar(std::max<qint64>(0, m_readingChar));
    setView(token - kPageTokens / 4, token - kPageTokens / 4 + kPageTokens);
}

void MemoryMapWidget::zoomBy(double factor, double anchor)
{
    if (!hasData() || factor <= 0)
        return;
    anchor = std::clamp(anchor, 0.0, 1.0);
    const double span = double(m_viewEnd - m_viewBegin);
    const double newSpan = std::clamp(span / factor, double(kMinSpan), double(m_index->tokenCount()));
    const double anchorToken = double(m_viewBegin) + anchor * span;
    const qint64 begin = qint64(std::llround(anchorToken - anchor * newSpan));
    setView(begin, begin + qint64(std::llround(newSpan)));
}

void MemoryMapWidget::pan(double fraction)
{
    const qint64 span = m_viewEnd - m_viewBegin;
    const qint64 shift = qint64(std::llround(fraction * double(span)));
    setView(m_viewBegin + shift, m_viewEnd + shift);
}

void MemoryMapWidget::setReadingPosition(qint64 charPosition)
{
    if (charPosition == m_readingChar)
        return;
    m_readingChar = charPosition;
    update();
}

bool MemoryMapWidget::event(QEvent* e)
{
    switch (e->type()) {
    case QEvent::ToolTip: {
        auto* help = static_cast<QHelpEvent*>(e);
        const QString text = toolTipAt(help->pos());
        if (text.isEmpty())
            QToolTip::hideText();
        else
            QToolTip::showText(help->globalPos(), text, this);
        return true;
    }
    case QEvent::NativeGesture: {
        auto* gesture = static_cast<QNativeGestureEvent*>(e);
        if (gesture->gestureType() == Qt::ZoomNativeGesture) {
            const QRect plot = plotRect();
            zoomBy(1.0 + gesture->value(), double(gesture->position().x() - plot.left()) / plot.width());
            return true;
        }
        break;
    }
    case QEvent::Gesture: {
        auto* gestureEvent = static_cast<QGestureEvent*>(e);
        if (auto* pinch = static_cast<QPinchGesture*>(gestureEvent->gesture(Qt::PinchGesture))) {
            if (pinch->changeFlags() & QPinchGesture::ScaleFactorChanged) {
                const QPointF center = mapFromGlobal(pinch->centerPoint());
                const QRect plot = plotRect();
                zoomBy(pinch->scaleFactor(), (center.x() - plot.left()) / plot.width());
            }
            gestureEvent->accept(pinch);
            return true;
        }
        break;
    }
    default:
        break;
    }
    return QWidget::event(e);
}

void MemoryMapWidget::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    m_cacheValid = false;
}

void MemoryMapWidget::wheelEvent(QWheelEvent* event)
{
    const QPoint delta = event->angleDelta();
    if (!hasData() || delta.isNull()) {
        event->ignore();
        return;
    }
    const QRect plot = plotRect();
    if (std::abs(delta.x()) > std::abs(delta.y())) {
        pan(-double(delta.x()) / 120.0 * 0.1);
    } else {
        const double anchor = (event->position().x() - plot.left()) / double(plot.width());
        zoomBy(std::pow(1.25, double(delta.y()) / 120.0), anchor);
    }
    event->accept();
}

void MemoryMapWidget::mousePressEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton) {
        QWidget::mousePressEvent(event);
        return;
    }
    m_pressed = true;
    m_dragging = false;
    m_pressPos = event->position().toPoint();
    m_pressViewBegin = m_viewBegin;
}

void MemoryMapWidget::mouseMoveEvent(QMouseEvent* event)
{
    const QPoint pos = event->position().toPoint();
    if (m_pressed && (m_dragging || (pos - m_pressPos).manhattanLength() > 4)) {
        m_dragging = true;
        setCursor(Qt::ClosedHandCursor);
        const qint64 span = m_viewEnd - m_viewBegin;
        const qint64 shift = qint64(std::llround(double(m_pressPos.x() - pos.x()) * double(span) / plotRect().width()));
        setView(m_pressViewBegin + shift, m_pressViewBegin + shift + span);
    }
    m_hover = pos;
    update();
}

void MemoryMapWidget::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton || !m_pressed) {
        QWidget::mouseReleaseEvent(event);
        return;
    }
    m_pressed = false;
    unsetCursor();
    if (m_dragging) {
        m_dragging = false;
        return;
    }
    const Hit hit = hitAt(event->position().toPoint());
    if (hit.area != Hit::None && hit.charPosition >= 0)
        emit positionActivated(hit.charPosition);
}

void MemoryMapWidget::leaveEvent(QEvent* event)
{
    m_hover = {-1, -1};
    update();
    QWidget::leaveEvent(event);
}

void MemoryMapWidget::keyPressEvent(QKeyEvent* event)
{
    switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        zoomIn();
        break;
    case Qt::Key_Minus:
        zoomOut();
        break;
    case Qt::Key_0:
        zoomToWholeBook();
        break;
    case Qt::Key_Period:
        zoomToReadingPosition();
        break;
    case Qt::Key_Left:
        pan(-0.25);
        break;
    case Qt::Key_Right:
        pan(0.25);
        break;
    case Qt::Key_Home:
        setView(0, m_viewEnd - m_viewBegin);
        break;
    case Qt::Key_End:
        if (m_index)
            setView(m_index->tokenCount() - (m_viewEnd - m_viewBegin), m_index->tokenCount());
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    event->accept();
}

}  // namespace mm::ui
