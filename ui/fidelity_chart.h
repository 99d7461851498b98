// Memory fidelity, one chart of the Charts dock (ui/charts_panel.h): the ETMF proxy of the
// engine's fidelity protocol per layer against distance (log axis), measured on the
// document's own text by the MemoryService (FidelityRequest / FidelityCurves); dashed,
// the same with the note pools emptied. Tooltips give each point's value.
#pragma once

#include "ui/memory_types.h"

#include <QObject>

class QChartView;
class QLineSeries;
class QWidget;

namespace mm::ui {

class FidelityChart : public QObject {
    Q_OBJECT
public:
    /// Creates its chart view (object name "fidelityChart") as a child of viewParent.
    explicit FidelityChart(QWidget* viewParent);

    QChartView* view() const { return m_view; }
    /// The series of `layer` (the model as it is, or with its pools emptied); null when not drawn.
    QLineSeries* series(int layer, bool noPool) const;
    /// What was measured, in one paragraph (empty until drawn).
    QString summary() const { return m_summary; }

    /// Draws the curves of `layers`; returns why nothing could be drawn, or "" when drawn.
    QString draw(const FidelityCurves& curves, const QVector<int>& layers, const QString& title);
    void clear();

private:
    QChartView* m_view;
    FidelityCurves m_curves;  ///< as drawn, for the tooltips
    QString m_summary;
};

}  // namespace mm::ui
