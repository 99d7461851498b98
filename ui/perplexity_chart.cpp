// See perplexity_chart.h.
#include "ui/perplexity_chart.h"

#include "ui/chart_style.h"

#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QCursor>
#include <QLegend>
#include <QLineSeries>
#include <QLocale>
#include <QLogValueAxis>
#include <QToolTip>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mm::ui {

QVector<PerplexityBin> perplexityBins(const MemoryMapData& data, int maxBins)
{
    QVector<PerplexityBin> bins;
    const qint64 tokens = std::min<qint64>(data.tokenCount(), data.surprisal.size());
    if (tokens <= 0 || maxBins <= 0)
        return bins;
    const qint64 count = std::min<qint64>(maxBins, tokens);
    bins.reserve(count);
    for (qint64 b = 0; b < count; ++b) {
        PerplexityBin bin;
        bin.firstToken = b * tokens / count;
        bin.endToken = (b + 1) * tokens / count;
        double sum = 0;
        for (qint64 t = bin.firstToken; t < bin.endToken; ++t) {
            const float v = data.surprisal[t];
            if (std::isfinite(v)) {
                sum += double(v);
                ++bin.scoredTokens;
            }
        }
        if (bin.scoredTokens > 0) {
            bin.meanNll = sum / double(bin.scoredTokens);
            bin.perplexity = std::exp(bin.meanNll);
        } else {
            bin.meanNll = bin.perplexity = std::numeric_limits<double>::quiet_NaN();
        }
        bins << bin;
    }
    return bins;
}

PerplexityChart::PerplexityChart(QWidget* viewParent)
    : QObject(viewParent), m_view(makeChartView(QStringLiteral("perplexityChart"), viewParent))
{
}

void PerplexityChart::clear()
{
    clearChart(m_view->chart());
    m_series = m_smoothed = m_position = nullptr;
    m_data.reset();
    m_summary.clear();
}

QString PerplexityChart::draw(std::shared_ptr<const MemoryMapData> data_, const QString& title)
{
    clear();
    m_data = std::move(data_);
    QChart* chart = m_view->chart();
    const MemoryMapData& data = *m_data;
    const QVector<PerplexityBin> bins = perplexityBins(data);
    double ymin = std::numeric_limits<double>::infinity(), ymax = 0;
    double nllSum = 0;
    qint64 scored = 0;
    for (const PerplexityBin& b : bins) {
        if (b.scoredTokens > 0) {
            ymin = std::min(ymin, b.perplexity);
            ymax = std::max(ymax, b.perplexity);
            nllSum += b.meanNll * double(b.scoredTokens);
            scored += b.scoredTokens;
        }
    }
    if (scored == 0 || !(ymax > 0)) {
        return data.surprisal.isEmpty()
                   ? tr("The model's reading of this book stored no surprisal, so there is no perplexity to draw.")
                   : tr("No token of this book has a prediction to score.");
    }
    const qint64 tokens = std::min<qint64>(data.tokenCount(), data.surprisal.size());
    chart->setTitle(title.isEmpty() ? tr("Perplexity by position") : tr("Perplexity by position — %1").arg(title));

    m_series = new QLineSeries(chart);
    m_series->setObjectName(QStringLiteral("perplexity"));
    m_series->setName(tr("perplexity (%1 bins)").arg(bins.size()));
    QPen pen(QColor(QStringLiteral("#5b6b7a")));
    pen.setWidthF(1.2);
    m_series->setPen(pen);
    QVector<QPointF> points;
    QVector<int> pointBins;
    for (int i = 0; i < bins.size(); ++i) {
        const PerplexityBin& b = bins[i];
        if (b.scoredTokens == 0)
            continue;  // no prediction in it: a gap, not a zero
        points << QPointF(0.5 * double(b.firstToken + b.endToken), b.perplexity);
        pointBins << i;
    }
    m_series->replace(points);

    // Smoothed: the geometric mean of the perplexity over kSmoothingBins bins around each.
    m_smoothed = new QLineSeries(chart);
    m_smoothed->setObjectName(QStringLiteral("perplexitySmoothed"));
    m_smoothed->setName(tr("smoothed (%1 bins)").arg(kSmoothingBins));
    QPen smoothPen(QColor(QStringLiteral("#b8323a")));
    smoothPen.setWidthF(2.5);
    m_smoothed->setPen(smoothPen);
    QVector<QPointF> smooth;
    const int half = kSmoothingBins / 2;
    for (int p = 0; p < points.size(); ++p) {
        double sum = 0;
        int n = 0;
        for (int q = std::max(0, p - half); q <= std::min(int(points.size()) - 1, p + half); ++q) {
            sum += std::log(points[q].y());
            ++n;
        }
        smooth << QPointF(points[p].x(), std::exp(sum / n));
    }
    m_smoothed->replace(smooth);

    chart->addSeries(m_series);
    chart->addSeries(m_smoothed);

    auto* x = new QValueAxis(chart);
    x->setRange(0, double(tokens));
    x->applyNiceNumbers();  // round ticks (0, 50000, …): the axis may end a little past the book
    x->setLabelFormat(QStringLiteral("%.0f"));
    x->setTitleText(tr("position in the book (tokens)"));
    x->setGridLineVisible(false);
    chart->addAxis(x, Qt::AlignBottom);

    QAbstractAxis* y;
    const bool logY = ymax / ymin > 20;
    if (logY) {
        auto* a = new QLogValueAxis(chart);
        a->setBase(10);
        a->setLabelFormat(QStringLiteral("%g"));
        m_yMin = ymin / 1.5;
        m_yMax = ymax * 1.5;
        a->setRange(m_yMin, m_yMax);
        y = a;
    } else {
        auto* a = new QValueAxis(chart);
        const double pad = std::max((ymax - ymin) * 0.08, ymax * 0.02);
        m_yMin = std::max(0.0, ymin - pad);
        m_yMax = ymax + pad;
        a->setRange(m_yMin, m_yMax);
        a->applyNiceNumbers();
        m_yMin = a->min();
        m_yMax = a->max();
        a->setLabelFormat(QStringLiteral("%g"));
        y = a;
    }
    y->setTitleText(logY ? tr("perplexity (log scale)") : tr("perplexity"));
    chart->addAxis(y, Qt::AlignLeft);
    for (QLineSeries* s : {m_series, m_smoothed}) {
        s->attachAxis(x);
        s->attachAxis(y);
    }

    // Chapter starts: a category axis on top whose boundaries are the chapters' first
    // tokens (their grid lines mark them), labelled by chapter number (every k-th one
    // when there are many).
    if (!data.chapters.isEmpty() && !data.tokenChars.isEmpty()) {
        auto* chapters = new QCategoryAxis(chart);
        chapters->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
        chapters->setStartValue(0);
        chapters->setRange(x->min(), x->max());
        chapters->setTitleText(tr("chapter"));
        QPen grid(QColor(QStringLiteral("#c9cfd6")));
        grid.setStyle(Qt::DotLine);
        chapters->setGridLinePen(grid);
        const int every = std::max(1, int(data.chapters.size() + 23) / 24);
        double last = -1;
        for (int i = 0; i < data.chapters.size(); i += every) {
            const qint64 token = std::lower_bound(data.tokenChars.cbegin(), data.tokenChars.cend(),
                                                  data.chapters[i].charPosition) - data.tokenChars.cbegin();
            const double at = double(std::min(token, tokens));
            if (at <= last || at <= 0)
                continue;  // Qt wants increasing boundaries after the start value
            chapters->append(QString::number(i + 1), at);
            last = at;
        }
        if (chapters->count() > 0) {
            chart->addAxis(chapters, Qt::AlignTop);
            m_series->attachAxis(chapters);
        } else {
            delete chapters;
        }
    }

    // The reading position: a vertical line from the bottom of the axis to its top.
    m_position = new QLineSeries(chart);
    m_position->setObjectName(QStringLiteral("readingPosition"));
    m_position->setName(tr("reading position"));
    QPen positionPen(QColor(QStringLiteral("#20262c")));
    positionPen.setWidthF(1.5);
    m_position->setPen(positionPen);
    chart->addSeries(m_position);
    m_position->attachAxis(x);
    m_position->attachAxis(y);
    setReadingPosition(m_readingChar);

    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->legend()->setVisible(true);

    connect(m_series, &QLineSeries::hovered, this, [this, bins, pointBins](const QPointF& point, bool state) {
        if (!state || !m_series) {
            QToolTip::hideText();
            return;
        }
        const auto shownPoints = m_series->points();
        int best = -1;
        double bestDistance = std::numeric_limits<double>::infinity();
        for (int i = 0; i < shownPoints.size(); ++i) {
            const double d = std::abs(shownPoints[i].x() - point.x());
            if (d < bestDistance) {
                bestDistance = d;
                best = i;
            }
        }
        if (best < 0 || best >= pointBins.size())
            return;
        const PerplexityBin& b = bins[pointBins[best]];
        const QLocale locale;
        QToolTip::showText(QCursor::pos(), tr("tokens %1–%2\nperplexity %3 (mean %4 nats over %5 tokens)")
                                               .arg(locale.toString(b.firstToken), locale.toString(b.endToken - 1),
                                                    locale.toString(b.perplexity, 'f', 1),
                                                    locale.toString(b.meanNll, 'f', 3), locale.toString(b.scoredTokens)),
                           m_view);
    });

    const QLocale locale;
    const double meanNll = nllSum / double(scored);
    m_summary = tr("Whole book: perplexity %1 (mean surprisal %2 nats over %3 tokens); each point is "
                             "exp(mean surprisal) of %4 tokens.")
                              .arg(locale.toString(std::exp(meanNll), 'f', 1), locale.toString(meanNll, 'f', 3),
                                   locale.toString(scored), locale.toString((tokens + bins.size() - 1) / bins.size()));
    return {};
}

void PerplexityChart::setReadingPosition(qint64 charPosition)
{
    m_readingChar = charPosition;
    if (!m_position || !m_data || m_data->tokenChars.isEmpty())
        return;
    const QVector<qint64>& chars = m_data->tokenChars;
    const qint64 token = std::max<qint64>(
        0, qint64(std::upper_bound(chars.cbegin(), chars.cend(), m_readingChar) - chars.cbegin()) - 1);
    const double x = double(token);
    m_position->replace({QPointF(x, m_yMin), QPointF(x, m_yMax)});
}

}  // namespace mm::ui
