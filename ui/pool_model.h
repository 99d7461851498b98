// PoolModel: every layer's note pool at one reading position, as a tree (layer, then its
// occupied slots) for a QTreeView. Columns: the note (the token in its context), slot,
// score, age in tokens, and how strongly the last question read it. Shows only the
// selected layers. Pure model: it is given PoolSnapshots, it fetches nothing.
#pragma once

#include "ui/memory_types.h"

#include <QAbstractItemModel>

namespace mm::ui {

class PoolModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { NoteColumn, SlotColumn, ScoreColumn, AgeColumn, ReadColumn, ColumnCount };
    enum Role {
        SortRole = Qt::UserRole + 1,  ///< numbers for the numeric columns
        LayerRole,                    ///< int, on every row
        CharStartRole,                ///< qint64, entries only
        CharEndRole,
        TokenRole,
        IsLayerRole,                  ///< bool: a layer row
    };

    explicit PoolModel(QObject* parent = nullptr);

    void setSnapshot(const PoolSnapshot& snapshot);
    const PoolSnapshot& snapshot() const { return m_snapshot; }
    void clear();
    /// Layers shown (ascending); empty = all of the snapshot's layers.
    void setLayers(const QVector<int>& layers);
    QVector<int> shownLayers() const { return m_shown; }
    /// The entries of a shown layer, by slot.
    QVector<PoolEntry> entries(int layer) const;
    /// Evicted notes of the shown layers.
    QVector<EvictedNote> evictedNotes() const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void rebuild();

    PoolSnapshot m_snapshot;
    QVector<int> m_wanted;
    QVector<int> m_shown;                  ///< layers that are top-level rows
    QVector<QVector<PoolEntry>> m_byLayer; ///< parallel to m_shown, sorted by slot
};

}  // namespace mm::ui
