// Perplexity by position, one chart of the Charts dock (ui/charts_panel.h): the per-token
// surprisal the model stored when it read the book (MemoryMapData::surprisal, nats),
// binned along the book (about 200 bins), each bin exp(mean NLL of its tokens); a
// smoothed line, chapter starts on a top axis and the reading position as a vertical line.
#pragma once

#include "ui/memory_types.h"

#include <QObject>

#include <memory>

class QChartView;
class QLineSeries;
class QWidget;

namespace mm::ui {

/// One bin of the perplexity curve: tokens [firstToken, endToken), the mean NLL of its
/// finite surprisal values and exp of it (NaN when the bin has none).
struct PerplexityBin {
    qint64 firstToken = 0;
    qint64 endToken = 0;
    qint64 scoredTokens = 0;
    double meanNll = 0;
    double perplexity = 0;
};
constexpr int kPerplexityBins = 200;
constexpr int kPerplexitySmoothingBins = 9;  ///< the smoothed line: geometric mean over this many bins

/// min(maxBins, tokens) bins of equal size (± 1 token) covering the whole document.
QVector<PerplexityBin> perplexityBins(const MemoryMapData& data, int maxBins = kPerplexityBins);

class PerplexityChart : public QObject {
    Q_OBJECT
public:
    static constexpr int kSmoothingBins = kPerplexitySmoothingBins;

    /// Creates its chart view (object name "perplexityChart") as a child of viewParent.
    explicit PerplexityChart(QWidget* viewParent);

    QChartView* view() const { return m_view; }
    QLineSeries* series() const { return m_series; }
    QLineSeries* smoothedSeries() const { return m_smoothed; }
    QLineSeries* readingPositionSeries() const { return m_position; }
    /// One line on the whole book and the bins (empty until drawn).
    QString summary() const { return m_summary; }

    /// Draws the document's curve; returns why nothing could be drawn, or "" when drawn.
    QString draw(std::shared_ptr<const MemoryMapData> data, const QString& title);
    void clear();
    /// Moves the reading-position line (kept for the next draw too).
    void setReadingPosition(qint64 charPosition);

private:
    QChartView* m_view;
    std::shared_ptr<const MemoryMapData> m_data;
    QLineSeries* m_series = nullptr;
    QLineSeries* m_smoothed = nullptr;
    QLineSeries* m_position = nullptr;
    double m_yMin = 1;
    double m_yMax = 2;
    qint64 m_readingChar = 0;
    QString m_summary;
};

}  // namespace mm::ui
