// The notes panel: the pool of every selected layer as it stood at the reading position
// (PoolModel in a sortable tree), and the switches that mark those notes, and the notes
// evicted before the position, in the reading view. Activating a note asks to jump to
// it. It observes PoolSnapshots; it asks for nothing itself.
#pragma once

#include "ui/char_range.h"
#include "ui/memory_types.h"

#include <QWidget>

class QCheckBox;
class QLabel;
class QSortFilterProxyModel;
class QTreeView;

namespace mm::ui {

class PoolModel;

class NotesPanel : public QWidget {
    Q_OBJECT
public:
    /// Evicted notes marked in the text: those at most this many code points before the
    /// position, at most kMaxEvictedMarks of them (a long book evicts many thousands).
    static constexpr qint64 kEvictedWindowChars = 60000;
    static constexpr int kMaxEvictedMarks = 2000;

    explicit NotesPanel(QWidget* parent = nullptr);

    PoolModel* model() const { return m_model; }
    QTreeView* view() const { return m_view; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QCheckBox* markPooledBox() const { return m_markPooled; }
    QCheckBox* markEvictedBox() const { return m_markEvicted; }
    QString headline() const;
    /// What the reading view should mark now (empty when the switch is off).
    CharRanges pooledRanges() const;
    CharRanges evictedRanges() const;

public slots:
    void setSnapshot(const mm::ui::PoolSnapshot& snapshot);
    void setLayers(const QVector<int>& layers);
    void clear();

signals:
    void noteActivated(qint64 charStart, qint64 charEnd);
    /// The marks changed (new snapshot, layers, or switches).
    void marksChanged(const mm::ui::CharRanges& pooled, const mm::ui::CharRanges& evicted);

private:
    void emitMarks();

    PoolModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QTreeView* m_view;
    QLabel* m_headline;
    QCheckBox* m_markPooled;
    QCheckBox* m_markEvicted;
};

}  // namespace mm::ui
