#include "ui/pool_model.h"

#include "ui/token_text.h"

#include <QColor>
#include <QLocale>

#include <algorithm>

namespace mm::ui {

namespace {
// Internal ids: 0 for a layer row, layerRow + 1 for its entries.
constexpr quintptr kLayerId = 0;
constexpr qsizetype kWordsBeforeToken = 24;  ///< characters of context shown before a note's token
}  // namespace

PoolModel::PoolModel(QObject* parent) : QAbstractItemModel(parent) {}

void PoolModel::setSnapshot(const PoolSnapshot& snapshot)
{
    m_snapshot = snapshot;
    rebuild();
}

void PoolModel::clear()
{
    setSnapshot({});
}

void PoolModel::setLayers(const QVector<int>& layers)
{
    m_wanted = layers;
    std::sort(m_wanted.begin(), m_wanted.end());
    rebuild();
}

void PoolModel::rebuild()
{
    beginResetModel();
    m_shown.clear();
    m_byLayer.clear();
    for (int layer = 0; layer < m_snapshot.layerCount; ++layer) {
        if (!m_wanted.isEmpty() && !m_wanted.contains(layer))
            continue;
        QVector<PoolEntry> entries;
        for (const PoolEntry& e : m_snapshot.entries) {
            if (e.layer == layer)
                entries << e;
        }
        std::sort(entries.begin(), entries.end(), [](const PoolEntry& a, const PoolEntry& b) { return a.slot < b.slot; });
        m_shown << layer;
        m_byLayer << entries;
    }
    endResetModel();
}

QVector<PoolEntry> PoolModel::entries(int layer) const
{
    const int row = int(m_shown.indexOf(layer));
    return row < 0 ? QVector<PoolEntry>() : m_byLayer[row];
}

QVector<EvictedNote> PoolModel::evictedNotes() const
{
    QVector<EvictedNote> out;
    for (const EvictedNote& e : m_snapshot.evicted) {
        if (m_shown.contains(e.layer))
            out << e;
    }
    return out;
}

QModelIndex PoolModel::index(int row, int column, const QModelIndex& parent) const
{
    if (column < 0 || column >= ColumnCount || row < 0)
        return {};
    if (!parent.isValid())
        return row < m_shown.size() ? createIndex(row, column, kLayerId) : QModelIndex();
    if (parent.internalId() != kLayerId || parent.row() >= m_byLayer.size())
        return {};
    if (row >= m_byLayer[parent.row()].size())
        return {};
    return createIndex(row, column, quintptr(parent.row()) + 1);
}

QModelIndex PoolModel::parent(const QModelIndex& child) const
{
    if (!child.isValid() || child.internalId() == kLayerId)
        return {};
    return createIndex(int(child.internalId() - 1), 0, kLayerId);
}

int PoolModel::rowCount(const QModelIndex& parent) const
{
    if (!parent.isValid())
        return int(m_shown.size());
    if (parent.internalId() == kLayerId && parent.column() == 0 && parent.row() < m_byLayer.size())
        return int(m_byLayer[parent.row()].size());
    return 0;
}

int PoolModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

QVariant PoolModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const QLocale locale;
    if (index.internalId() == kLayerId) {
        const int layer = m_shown[index.row()];
        const int used = int(m_byLayer[index.row()].size());
        switch (role) {
        case Qt::DisplayRole:
            if (index.column() == NoteColumn)
                return tr("Layer %1").arg(layer);
            if (index.column() == SlotColumn)
                return tr("%1/%2").arg(used).arg(m_snapshot.poolSize);
            return {};
        case SortRole:
            return layer;
        case LayerRole:
            return layer;
        case IsLayerRole:
            return true;
        default:
            return {};
        }
    }
    const PoolEntry& e = m_byLayer[int(index.internalId() - 1)][index.row()];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NoteColumn: {
            if (e.context.isEmpty() || e.contextTokenStart < 0)
                return tr("token %1").arg(locale.toString(e.tokenPosition));
            // «token» then the words around it, from a few words before the token: the
            // cell elides at its right end, and a token seen outside its word (a byte
            // piece's «Ë» of "BRONTË") must be seen in it. The tooltip has all of it.
            const QString token = tokenDisplayText(e.context, e.contextTokenStart, e.contextTokenStart + e.contextTokenLength);
            qsizetype lead = std::max<qsizetype>(0, e.contextTokenStart - kWordsBeforeToken);
            if (lead > 0) {
                const qsizetype space = e.context.indexOf(QLatin1Char(' '), lead);
                if (space >= 0 && space < e.contextTokenStart)
                    lead = space + 1;
            }
            return QStringLiteral("«%1»  %2%3").arg(token, lead > 0 ? QStringLiteral("…") : QString(),
                                                    e.context.mid(lead).simplified());
        }
        case SlotColumn:
            return e.slot;
        case ScoreColumn:
            return QString::number(double(e.score), 'f', 3);
        case AgeColumn:
            return locale.toString(e.ageTokens);
        case ReadColumn:
            return e.lastQuestionAttention < 0 ? QStringLiteral("—")
                                                : QString::number(double(e.lastQuestionAttention), 'f', 2);
        default:
            return {};
        }
    case Qt::ToolTipRole:
        return tr("Layer %1, slot %2: token %3, %4 tokens ago\n%5")
            .arg(e.layer)
            .arg(e.slot)
            .arg(locale.toString(e.tokenPosition), locale.toString(e.ageTokens), e.context);
    case Qt::BackgroundRole:
        if (index.column() == ReadColumn && e.lastQuestionAttention > 0) {
            QColor c(0x1f, 0x6f, 0x78);
            c.setAlphaF(float(std::clamp(double(e.lastQuestionAttention), 0.0, 1.0) * 0.6));
            return c;
        }
        return {};
    case Qt::TextAlignmentRole:
        return index.column() == NoteColumn ? QVariant() : QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
    case SortRole:
        switch (index.column()) {
        case NoteColumn:
            return e.tokenPosition;
        case SlotColumn:
            return e.slot;
        case ScoreColumn:
            return double(e.score);
        case AgeColumn:
            return e.ageTokens;
        case ReadColumn:
            return double(e.lastQuestionAttention);
        default:
            return {};
        }
    case LayerRole:
        return e.layer;
    case CharStartRole:
        return e.charStart;
    case CharEndRole:
        return e.charEnd;
    case TokenRole:
        return e.tokenPosition;
    case IsLayerRole:
        return false;
    default:
        return {};
    }
}

QVariant PoolModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NoteColumn:
        return tr("Note");
    case SlotColumn:
        return tr("Slot");
    case ScoreColumn:
        return tr("Score");
    case AgeColumn:
        return tr("Age");
    case ReadColumn:
        return tr("Read");
    default:
        return {};
    }
}

}  // namespace mm::ui
