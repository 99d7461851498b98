// The Charts dock: two Qt Charts of the open document's memory, side by side, each in
// its own file: perplexity by position (ui/perplexity_chart.h) and memory fidelity
// (ui/fidelity_chart.h). The panel arranges them and keeps what they show: the document,
// the fidelity measurement's state (requested when the panel is on screen, progress,
// Cancel, Measure again), placeholders and the PNG export.
//
// Widgets never see the service: MainWindow feeds the data in and forwards
// fidelityRequested / fidelityCancelRequested. Each chart shows a placeholder (why there
// is nothing to draw, or the measurement's progress with Cancel) instead of an empty
// chart. Each can be saved as a PNG (exportPng takes the path; the button asks for it).
#pragma once

#include "ui/memory_types.h"
#include "ui/perplexity_chart.h"

#include <QWidget>

#include <memory>

class QChart;
class QChartView;
class QLabel;
class QLineSeries;
class QProgressBar;
class QPushButton;
class QStackedWidget;
class QToolButton;

namespace mm::ui {

class FidelityChart;

class ChartsPanel : public QWidget {
    Q_OBJECT
public:
    enum Chart { Perplexity, Fidelity };

    using PerplexityBin = mm::ui::PerplexityBin;
    /// min(maxBins, tokens) bins of equal size (± 1 token) covering the whole document.
    static QVector<PerplexityBin> perplexityBins(const MemoryMapData& data, int maxBins = kPerplexityBins)
    {
        return mm::ui::perplexityBins(data, maxBins);
    }
    static constexpr int kPerplexityBins = mm::ui::kPerplexityBins;
    static constexpr int kSmoothingBins = kPerplexitySmoothingBins;

    explicit ChartsPanel(QWidget* parent = nullptr);
    ~ChartsPanel() override;

    qint64 documentId() const { return m_docId; }
    QChartView* chartView(Chart chart) const;
    /// True when the chart is drawn (not its placeholder).
    bool isChartShown(Chart chart) const;
    /// The placeholder's text (empty while the chart is shown).
    QString placeholderText(Chart chart) const;

    // The series, for tests (null while there is nothing to draw).
    QLineSeries* perplexitySeries() const;
    QLineSeries* smoothedPerplexitySeries() const;
    QLineSeries* readingPositionSeries() const;
    /// The fidelity series of `layer` (the model as it is, or with its pools emptied).
    QLineSeries* fidelitySeries(int layer, bool noPool = false) const;
    /// The layers drawn on the fidelity chart.
    QVector<int> fidelityLayers() const;
    const FidelityCurves& fidelityCurves() const { return m_curves; }
    bool isMeasuringFidelity() const { return m_fidelityState == Measuring; }
    QPushButton* fidelityCancelButton() const { return m_cancelButton; }
    QPushButton* fidelityMeasureButton() const { return m_measureButton; }
    QToolButton* exportButton(Chart chart) const { return chart == Perplexity ? m_pplExport : m_fidExport; }

    /// Saves the chart as it is on screen as a PNG at `path`. Returns an empty string on
    /// success, else the reason ("…cannot be saved to '/x/y.png': Permission denied").
    QString exportPng(Chart chart, const QString& path) const;
    /// "Title - perplexity.png": the name the export dialog proposes.
    QString suggestedFileName(Chart chart) const;

public slots:
    /// A document was opened: both charts wait for its memory.
    void setDocument(qint64 docId, const QString& title);
    /// Nothing to show, with why (no document, no memory service…).
    void clear(const QString& message);
    /// The open document's memory map arrived: draws the perplexity curve, and measures
    /// the fidelity curves as soon as the panel is visible (fidelityRequested).
    void setMemoryData(std::shared_ptr<const mm::ui::MemoryMapData> data);
    /// The document has no memory (not read with the model, read by another model…).
    void setMemoryUnavailable(qint64 docId, const QString& reason);
    void setReadingPosition(qint64 charPosition);
    /// The layers the memory map shows (its selection); empty: all of them.
    void setLayers(const QVector<int>& layers);
    /// Whether the dock holding the panel is on screen (QDockWidget::visibilityChanged:
    /// a dock behind another's tab stays "visible", moved out of sight). Until called,
    /// the panel's own visibility decides.
    void setOnScreen(bool onScreen);

    void setFidelityProgress(qint64 docId, int done, int total);
    void setFidelityCurves(const mm::ui::FidelityCurves& curves);
    void setFidelityFailed(qint64 docId, const QString& message);
    void setFidelityCancelled(qint64 docId);
    /// Asks for the fidelity curves of the open document (again).
    void measureFidelity();

    /// Asks for a file name, then exportPng; a failure is shown in a message box.
    void chooseExportPath(Chart chart);

signals:
    void fidelityRequested(const mm::ui::FidelityRequest& request);
    void fidelityCancelRequested(qint64 docId);
    /// A chart was saved (from the Export button).
    void exported(const QString& path);

protected:
    void showEvent(QShowEvent* event) override;

private:
    enum FidelityState { NotRequested, Measuring, Ready, Failed, Cancelled };
    void drawPerplexity();
    void drawFidelity();
    void showPlaceholder(Chart chart, const QString& text);
    void showChart(Chart chart);
    void maybeRequestFidelity();
    void updateFidelityControls();

    qint64 m_docId = 0;
    QString m_title;
    std::shared_ptr<const MemoryMapData> m_data;
    QVector<int> m_layers;
    bool m_onScreenKnown = false;
    bool m_onScreen = false;

    FidelityState m_fidelityState = NotRequested;
    FidelityCurves m_curves;
    int m_fidelityDone = 0;
    int m_fidelityTotal = 0;

    QStackedWidget* m_pplStack;
    QLabel* m_pplPlaceholder;
    PerplexityChart* m_perplexity;
    QToolButton* m_pplExport;
    QLabel* m_pplSummary;

    QStackedWidget* m_fidStack;
    QLabel* m_fidPlaceholder;
    QProgressBar* m_progress;
    QPushButton* m_cancelButton;
    QPushButton* m_measureButton;
    FidelityChart* m_fidelity;
    QToolButton* m_fidExport;
    QLabel* m_fidSummary;
};

}  // namespace mm::ui
