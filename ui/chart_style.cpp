// See chart_style.h.
#include "ui/chart_style.h"

#include <QChart>
#include <QChartView>
#include <QLegend>
#include <QLegendMarker>

namespace mm::ui {

namespace {
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
}  // namespace

QColor layerColour(int layer)
{
    return QColor(QLatin1String(kPalette[layer % 10]));
}

void clearChart(QChart* chart)
{
    chart->removeAllSeries();  // deletes them
    const auto axes = chart->axes();
    for (QAbstractAxis* axis : axes) {
        chart->removeAxis(axis);
        delete axis;
    }
}

void hideFromLegend(QChart* chart, QAbstractSeries* series)
{
    const auto markers = chart->legend()->markers(series);
    for (QLegendMarker* marker : markers)
        marker->setVisible(false);
}

QChartView* makeChartView(const QString& name, QWidget* parent)
{
    auto* chart = new QChart();
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->legend()->setAlignment(Qt::AlignRight);
    auto* view = new QChartView(chart, parent);
    view->setObjectName(name);
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumSize(320, 180);
    return view;
}

}  // namespace mm::ui
