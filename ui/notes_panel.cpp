#include "ui/notes_panel.h"

#include "ui/pool_model.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace mm::ui {

namespace {
/// Sorts the notes of each layer; the layers themselves stay in ascending order.
class PoolSortProxy : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

protected:
    bool lessThan(const QModelIndex& left, const QModelIndex& right) const override
    {
        if (!left.parent().isValid() && !right.parent().isValid()) {
            const int a = left.data(PoolModel::LayerRole).toInt();
            const int b = right.data(PoolModel::LayerRole).toInt();
            return sortOrder() == Qt::AscendingOrder ? a < b : a > b;
        }
        return QSortFilterProxyModel::lessThan(left, right);
    }
};
}  // namespace

NotesPanel::NotesPanel(QWidget* parent)
    : QWidget(parent), m_model(new PoolModel(this)), m_proxy(new PoolSortProxy(this)),
      m_view(new QTreeView(this)), m_headline(new QLabel(this)),
      m_markPooled(new QCheckBox(tr("Mark notes in the text"), this)),
      m_markEvicted(new QCheckBox(tr("Mark evicted notes"), this))
{
    setObjectName(QStringLiteral("notesPanel"));
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(PoolModel::SortRole);
    m_view->setObjectName(QStringLiteral("notesView"));
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(PoolModel::SlotColumn, Qt::AscendingOrder);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->header()->setStretchLastSection(false);
    m_view->setIndentation(12);
    m_view->header()->setMinimumSectionSize(24);
    m_view->header()->setSectionResizeMode(PoolModel::NoteColumn, QHeaderView::Stretch);
    // The numbers are short: columns as wide as their header and values (an age of
    // "176,256" tokens, never "176,..."), the note gets the rest and elides (tooltip).
    for (int c = PoolModel::SlotColumn; c < PoolModel::ColumnCount; ++c)
        m_view->header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_headline->setObjectName(QStringLiteral("notesHeadline"));
    m_headline->setWordWrap(true);
    m_markPooled->setObjectName(QStringLiteral("markPooled"));
    m_markEvicted->setObjectName(QStringLiteral("markEvicted"));
    m_markPooled->setChecked(true);
    m_markPooled->setToolTip(tr("Underline, in the text, the tokens of the selected layers that are in the pool now"));
    m_markEvicted->setToolTip(tr("Underline, in the text, the notes of the selected layers that were evicted before "
                                 "this position (the nearest %1)").arg(kMaxEvictedMarks));

    auto* switches = new QHBoxLayout;
    switches->addWidget(m_markPooled);
    switches->addWidget(m_markEvicted);
    switches->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_headline);
    layout->addLayout(switches);
    layout->addWidget(m_view, 1);

    connect(m_model, &QAbstractItemModel::modelReset, m_view, &QTreeView::expandAll);
    connect(m_view, &QTreeView::activated, this, [this](const QModelIndex& index) {
        if (index.data(PoolModel::IsLayerRole).toBool())
            return;
        emit noteActivated(index.data(PoolModel::CharStartRole).toLongLong(),
                           index.data(PoolModel::CharEndRole).toLongLong());
    });
    connect(m_markPooled, &QCheckBox::toggled, this, &NotesPanel::emitMarks);
    connect(m_markEvicted, &QCheckBox::toggled, this, &NotesPanel::emitMarks);
}

QString NotesPanel::headline() const
{
    return m_headline->text();
}

void NotesPanel::setSnapshot(const PoolSnapshot& snapshot)
{
    // A new snapshot arrives whenever the reader stops moving: keep the reader's place
    // in the list (scroll, and the selected layer and slot) across the model reset.
    const int scroll = m_view->verticalScrollBar()->value();
    const QModelIndex current = m_view->currentIndex();
    const bool hadCurrent = current.isValid();
    const int currentLayer = current.data(PoolModel::LayerRole).toInt();
    const bool currentIsLayer = current.data(PoolModel::IsLayerRole).toBool();
    const int currentSlot = current.siblingAtColumn(PoolModel::SlotColumn).data(PoolModel::SortRole).toInt();
    m_model->setSnapshot(snapshot);
    // "Read" (the last question's attention) says nothing before a question: its room
    // goes to the notes until then.
    const bool asked = std::any_of(snapshot.entries.cbegin(), snapshot.entries.cend(),
                                   [](const PoolEntry& e) { return e.lastQuestionAttention >= 0; });
    m_view->setColumnHidden(PoolModel::ReadColumn, !asked);
    if (hadCurrent) {
        for (int row = 0; row < m_proxy->rowCount(); ++row) {
            const QModelIndex layer = m_proxy->index(row, 0);
            if (layer.data(PoolModel::LayerRole).toInt() != currentLayer)
                continue;
            QModelIndex target = layer;
            if (!currentIsLayer) {
                for (int child = 0; child < m_proxy->rowCount(layer); ++child) {
                    const QModelIndex slot = m_proxy->index(child, PoolModel::SlotColumn, layer);
                    if (slot.data(PoolModel::SortRole).toInt() == currentSlot)
                        target = slot.siblingAtColumn(PoolModel::NoteColumn);
                }
            }
            m_view->selectionModel()->setCurrentIndex(target, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
            break;
        }
    }
    m_view->verticalScrollBar()->setValue(scroll);
    const QLocale locale;
    m_headline->setText(tr("The pools as they stood at token %1: %n note(s) held, %2 evicted so far.", nullptr,
                           int(snapshot.entries.size()))
                            .arg(locale.toString(snapshot.atToken), locale.toString(qint64(snapshot.evicted.size()))));
    emitMarks();
}

void NotesPanel::setLayers(const QVector<int>& layers)
{
    m_model->setLayers(layers);
    emitMarks();
}

void NotesPanel::clear()
{
    m_model->clear();
    m_headline->clear();
    emitMarks();
}

CharRanges NotesPanel::pooledRanges() const
{
    CharRanges out;
    if (!m_markPooled->isChecked())
        return out;
    for (int layer : m_model->shownLayers()) {
        for (const PoolEntry& e : m_model->entries(layer))
            out.push_back({e.charStart, e.charEnd});
    }
    return out;
}

CharRanges NotesPanel::evictedRanges() const
{
    CharRanges out;
    if (!m_markEvicted->isChecked())
        return out;
    const qint64 at = m_model->snapshot().atChar;
    QVector<EvictedNote> evicted = m_model->evictedNotes();
    // The nearest ones before the position first.
    std::sort(evicted.begin(), evicted.end(),
              [](const EvictedNote& a, const EvictedNote& b) { return a.charStart > b.charStart; });
    for (const EvictedNote& e : std::as_const(evicted)) {
        if (out.size() >= kMaxEvictedMarks || e.charStart < at - kEvictedWindowChars)
            break;
        out.push_back({e.charStart, e.charEnd});
    }
    return out;
}

void NotesPanel::emitMarks()
{
    emit marksChanged(pooledRanges(), evictedRanges());
}

}  // namespace mm::ui
