// See fidelity_chart.h.
#include "ui/fidelity_chart.h"

#include "ui/chart_style.h"

#include <QChart>
#include <QChartView>
#include <QCursor>
#include <QLineSeries>
#include <QLocale>
#include <QLogValueAxis>
#include <QToolTip>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace mm::ui {

FidelityChart::FidelityChart(QWidget* viewParent)
    : QObject(viewParent), m_view(makeChartView(QStringLiteral("fidelityChart"), viewParent))
{
}

void FidelityChart::clear()
{
    clearChart(m_view->chart());
    m_curves = {};
    m_summary.clear();
}

QLineSeries* FidelityChart::series(int layer, bool noPool) const
{
    const QString name = (noPool ? QStringLiteral("fidelityNoPoolLayer%1") : QStringLiteral("fidelityLayer%1")).arg(layer);
    const auto series = m_view->chart()->series();
    for (QAbstractSeries* s : series) {
        if (s->objectName() == name)
            return qobject_cast<QLineSeries*>(s);
    }
    return nullptr;
}

QString FidelityChart::draw(const FidelityCurves& curves, const QVector<int>& layers, const QString& title)
{
    clear();
    m_curves = curves;
    QChart* chart = m_view->chart();
    const FidelityCurves& c = m_curves;
    bool any = false;
    double ymax = 0;
    double dmin = std::numeric_limits<double>::infinity(), dmax = 0;
    for (int i = 0; i < c.distances.size(); ++i) {
        if (c.distances[i] <= 0)
            continue;  // the log axis has no 0; distance 0 is the replaced token itself
        dmin = std::min(dmin, double(c.distances[i]));
        dmax = std::max(dmax, double(c.distances[i]));
    }
    if (!(dmax > 0) || layers.isEmpty())
        return tr("The measurement gave no curve for this book (too short?).");
    chart->setTitle(title.isEmpty() ? tr("Memory fidelity") : tr("Memory fidelity — %1").arg(title));

    auto* x = new QLogValueAxis(chart);
    x->setBase(4);  // the default distances are powers of 4: a tick at each
    x->setLabelFormat(QStringLiteral("%g"));
    x->setRange(dmin, dmin == dmax ? dmax * 4 : dmax);
    x->setTitleText(tr("distance (tokens after the changed token)"));
    chart->addAxis(x, Qt::AlignBottom);
    // A log axis when the curves fall over more than two decades (a trained model's do:
    // the tail is what the notes are for), else a linear one from 0.
    double positiveMin = std::numeric_limits<double>::infinity(), positiveMax = 0;
    auto scan = [&](const QVector<QVector<double>>& rows) {
        for (int layer : layers) {
            for (double v : rows.value(layer)) {
                if (std::isfinite(v) && v > 0) {
                    positiveMin = std::min(positiveMin, v);
                    positiveMax = std::max(positiveMax, v);
                }
            }
        }
    };
    scan(c.etmf);
    scan(c.etmfNoPool);
    const bool logY = positiveMax > 0 && positiveMax / positiveMin > 100;
    QAbstractAxis* y;
    if (logY) {
        auto* a = new QLogValueAxis(chart);
        a->setBase(10);
        a->setLabelFormat(QStringLiteral("%.0e"));
        a->setRange(positiveMin / 2, positiveMax * 2);
        y = a;
    } else {
        auto* a = new QValueAxis(chart);
        a->setLabelFormat(QStringLiteral("%.2f"));
        y = a;
    }
    y->setTitleText(logY ? tr("ETMF proxy (1 − cos, log scale)") : tr("ETMF proxy (1 − cos)"));
    chart->addAxis(y, Qt::AlignLeft);

    auto addCurve = [&](int layer, const QVector<double>& values, bool noPool) {
        auto* s = new QLineSeries(chart);
        s->setObjectName((noPool ? QStringLiteral("fidelityNoPoolLayer%1") : QStringLiteral("fidelityLayer%1")).arg(layer));
        s->setName(noPool ? tr("layer %1, pools emptied").arg(layer) : tr("layer %1").arg(layer));
        QPen pen(layerColour(layer));
        if (noPool) {
            pen.setStyle(Qt::DashLine);
            pen.setWidthF(1.3);
        } else {
            pen.setWidthF(2.5);
        }
        s->setPen(pen);
        s->setPointsVisible(!noPool);
        for (int i = 0; i < c.distances.size() && i < values.size(); ++i) {
            if (c.distances[i] <= 0 || !std::isfinite(values[i]) || (logY && values[i] <= 0))
                continue;  // (a log axis has no 0: such a point is left out)
            s->append(double(c.distances[i]), values[i]);
            ymax = std::max(ymax, values[i]);
            any = true;
        }
        chart->addSeries(s);
        s->attachAxis(x);
        s->attachAxis(y);
        if (noPool)
            hideFromLegend(chart, s);
        connect(s, &QLineSeries::hovered, this, [this, layer, noPool](const QPointF& point, bool state) {
            if (!state) {
                QToolTip::hideText();
                return;
            }
            int best = -1;
            double bestDistance = std::numeric_limits<double>::infinity();
            for (int i = 0; i < m_curves.distances.size(); ++i) {
                if (m_curves.distances[i] <= 0)
                    continue;
                const double d = std::abs(std::log(double(m_curves.distances[i])) - std::log(std::max(point.x(), 1e-9)));
                if (d < bestDistance) {
                    bestDistance = d;
                    best = i;
                }
            }
            if (best < 0 || layer >= m_curves.etmf.size())
                return;
            QString text = tr("layer %1, %2 tokens later: %3").arg(layer).arg(m_curves.distances[best])
                               .arg(m_curves.etmf[layer].value(best), 0, 'f', 4);
            if (layer < m_curves.etmfNoPool.size())
                text += tr("\nwith the pools emptied: %1").arg(m_curves.etmfNoPool[layer].value(best), 0, 'f', 4);
            Q_UNUSED(noPool)
            QToolTip::showText(QCursor::pos(), text, m_view);
        });
    };
    for (int layer : layers) {
        addCurve(layer, c.etmf[layer], false);
        if (layer < c.etmfNoPool.size())
            addCurve(layer, c.etmfNoPool[layer], true);
    }
    if (!any) {
        clearChart(chart);
        return tr("The measurement gave no finite value for this book.");
    }
    if (auto* linear = qobject_cast<QValueAxis*>(y)) {
        linear->setRange(0, std::max(0.01, ymax * 1.1));
        linear->applyNiceNumbers();
    }

    const QLocale locale;
    QString summary = c.samples == 1 ? tr("1 sample of this book: it changes one token after %1 tokens of context and "
                                          "compares every layer's output with the unchanged read, %2 to %3 tokens later.")
                                     : tr("%4 samples of this book: each changes one token after %1 tokens of context and "
                                          "compares every layer's output with the unchanged read, %2 to %3 tokens later.");
    summary = summary.arg(locale.toString(c.context), locale.toString(qint64(dmin)), locale.toString(qint64(dmax)));
    if (c.samples != 1)
        summary = summary.arg(c.samples);
    if (!c.etmfNoPool.isEmpty())
        summary += tr(" Dashed: the same with the note pools emptied.");
    if (c.seconds > 0)
        summary += tr(" (%1 s)").arg(locale.toString(c.seconds, 'f', 1));
    m_summary = summary;
    return {};
}

}  // namespace mm::ui
