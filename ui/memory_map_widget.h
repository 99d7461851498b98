// The memory map: the whole book left to right (token positions), one row per shown
// layer. Each pixel column summarises the tokens under it from MemoryMapIndex (never
// token by token): amber for the mean importance a_t, teal ticks for notes written into
// the pool, crimson ticks for notes evicted. Under the rows, the surprisal track; above
// them, the chapter marks. Zoom from the whole book to a few lines (wheel or pinch
// around the pointer, the buttons of MemoryMapPanel, + - 0 and the arrow keys); drag to
// pan; hover for the token and its score (and, over a note, its life in the pool from
// insertion to eviction); click to jump there (positionActivated). The notes held in the
// pools at the reading position are marked with small ticks above their tokens.
#pragma once

#include "storage/text_offsets.h"
#include "ui/memory_map_index.h"

#include <QImage>
#include <QWidget>

#include <memory>

namespace mm::ui {

class MemoryMapWidget : public QWidget {
    Q_OBJECT
public:
    /// The narrowest view, in tokens (about two lines of text).
    static constexpr qint64 kMinSpan = 32;
    static constexpr int kGutter = 34;      ///< layer labels, left of the plot
    static constexpr int kRulerHeight = 18;  ///< chapter marks, above the rows
    static constexpr int kTrackHeight = 34;  ///< surprisal track, below the rows

    /// What lies under a point of the widget.
    struct Hit {
        enum Area { None, Ruler, Layer, Surprisal };
        Area area = None;
        int layer = -1;          ///< Layer: the row's layer
        qint64 tokenBegin = -1;  ///< the cell's tokens [tokenBegin, tokenEnd)
        qint64 tokenEnd = -1;
        /// The token the tooltip names: the cell's token when it holds one, else the
        /// highest-scoring note written in the cell (Layer), else the cell's first token.
        qint64 token = -1;
        qint64 charPosition = -1;  ///< where a click jumps: the start of the cell's first token
    };

    explicit MemoryMapWidget(QWidget* parent = nullptr);

    void setIndex(std::shared_ptr<const MemoryMapIndex> index);
    std::shared_ptr<const MemoryMapIndex> index() const { return m_index; }
    bool hasData() const { return m_index && m_index->tokenCount() > 0; }
    /// The document's text, for the tooltips (optional).
    void setDocumentText(const QString& text);
    void clear();

    qint64 viewBegin() const { return m_viewBegin; }
    qint64 viewEnd() const { return m_viewEnd; }
    /// Shows tokens [begin, end), clamped to the book and to at least kMinSpan tokens.
    void setView(qint64 begin, qint64 end);

    /// Layers drawn as rows, in order; empty = all.
    QVector<int> shownLayers() const;
    void setShownLayers(const QVector<int>& layers);

    QRect plotRect() const;
    QRect layerRect(int layer) const;  ///< empty when the layer is not shown
    QRect surprisalRect() const;
    QVector<MemoryMapCell> visibleCells() const;
    Hit hitAt(const QPoint& point) const;
    QString toolTipAt(const QPoint& point) const;
    qint64 readingPosition() const { return m_readingChar; }
    /// (layer, token) of the notes in the pools at the reading position.
    const QVector<QPair<int, qint64>>& poolTokens() const { return m_poolTokens; }

    QSize sizeHint() const override { return {640, 260}; }
    QSize minimumSizeHint() const override { return {200, 120}; }

public slots:
    void zoomIn();
    void zoomOut();
    void zoomToWholeBook();
    /// About a page (kPageTokens) around the reading position.
    void zoomToReadingPosition();
    /// Zooms by `factor` (> 1 zooms in) keeping the token at `anchor` (0..1 across the
    /// plot) where it is.
    void zoomBy(double factor, double anchor = 0.5);
    /// Moves the view by `fraction` of its width (negative: towards the start).
    void pan(double fraction);
    void setReadingPosition(qint64 charPosition);
    void setPoolTokens(const QVector<QPair<int, qint64>>& tokens);

signals:
    /// A click on the map: jump to this code point.
    void positionActivated(qint64 charPosition);
    void viewChanged(qint64 tokenBegin, qint64 tokenEnd);

protected:
    bool event(QEvent* event) override;
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    static constexpr qint64 kPageTokens = 600;
    QVector<int> effectiveLayers() const;
    void invalidate();
    void rebuildCache();
    QString tokenText(qint64 token) const;
    QString contextText(qint64 token) const;
    int xForToken(double token) const;

    std::shared_ptr<const MemoryMapIndex> m_index;
    QString m_text;
    storage::CodePointIndex m_textIndex{QString()};
    qint64 m_viewBegin = 0;
    qint64 m_viewEnd = 0;
    QVector<int> m_layers;
    qint64 m_readingChar = -1;
    QVector<QPair<int, qint64>> m_poolTokens;
    QImage m_cache;
    bool m_cacheValid = false;
    QPoint m_hover{-1, -1};
    QPoint m_pressPos;
    qint64 m_pressViewBegin = 0;
    bool m_dragging = false;
    bool m_pressed = false;
};

}  // namespace mm::ui
