// The memory map dock: the map, its zoom buttons, the layer selector (which layers are
// rows of the map, and whose notes the reading view and notes panel show) and a legend.
// It builds the map's index off the GUI thread (QtConcurrent) when given new data.
#pragma once

#include "ui/memory_map_index.h"

#include <QFutureWatcher>
#include <QWidget>

#include <memory>

class QLabel;
class QHBoxLayout;
class QToolButton;

namespace mm::ui {

class MemoryMapWidget;

class MemoryMapPanel : public QWidget {
    Q_OBJECT
public:
    explicit MemoryMapPanel(QWidget* parent = nullptr);

    MemoryMapWidget* map() const { return m_map; }
    /// Selected layers, ascending (all of them when nothing was chosen).
    QVector<int> selectedLayers() const;
    int layerCount() const { return int(m_layerButtons.size()); }
    QToolButton* layerButton(int layer) const;

public slots:
    /// Indexes `data` on a worker thread, then shows it (indexReady).
    void setData(std::shared_ptr<const mm::ui::MemoryMapData> data, const QString& documentText);
    /// Shows an index built already (tests, or a cached one).
    void setIndex(std::shared_ptr<const mm::ui::MemoryMapIndex> index, const QString& documentText);
    void clear();
    /// Restores a selection (from QSettings); unknown layers are ignored.
    void setSelectedLayers(const QVector<int>& layers);

signals:
    void indexReady();
    void layerSelectionChanged(const QVector<int>& layers);
    void positionActivated(qint64 charPosition);

private:
    void rebuildLayerButtons(int layerCount);
    void updateViewLabel();

    MemoryMapWidget* m_map;
    QHBoxLayout* m_layerRow;
    QVector<QToolButton*> m_layerButtons;
    QVector<int> m_wantedLayers;  ///< the selection to apply when layers arrive
    QLabel* m_viewLabel;
    QFutureWatcher<std::shared_ptr<const MemoryMapIndex>> m_watcher;
    QString m_pendingText;
    quint64 m_generation = 0;         ///< bumped by setData and clear
    quint64 m_pendingGeneration = 0;  ///< the generation the running indexing belongs to
};

}  // namespace mm::ui
