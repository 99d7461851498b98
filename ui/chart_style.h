// What the Charts dock's charts share: the layer palette, an empty chart view in the
// dock's style, and emptying or trimming a chart (ui/perplexity_chart.h,
// ui/fidelity_chart.h).
#pragma once

#include <QColor>
#include <QString>

class QAbstractSeries;
class QChart;
class QChartView;
class QWidget;

namespace mm::ui {

/// One colour per layer (Qt's chart theme repeats its colours after five series; a
/// model has eight layers).
QColor layerColour(int layer);
/// Removes and deletes every series and axis.
void clearChart(QChart* chart);
void hideFromLegend(QChart* chart, QAbstractSeries* series);
/// A chart view named `name` with an empty chart, antialiased, legend on the right.
QChartView* makeChartView(const QString& name, QWidget* parent);

}  // namespace mm::ui
