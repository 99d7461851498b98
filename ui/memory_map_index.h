// MemoryMapIndex: the memory map's data, pre-aggregated so that any token range (a pixel
// column at any zoom) is summarised in O(log N), never by walking its tokens. Importance
// and surprisal are kept as a mip pyramid of power-of-two blocks (sum and max, from 16
// tokens up), note insertions and evictions as sorted positions per layer (a count is
// two binary searches). Built once per document, off the GUI thread (it is a plain
// value: no QObject), then shared read-only with the widget.
#pragma once

#include "ui/memory_types.h"

#include <QVector>

#include <memory>

namespace mm::ui {

/// What one layer did over a token range.
struct MemoryBin {
    qint64 tokens = 0;
    qint64 insertions = 0;     ///< notes written from tokens in the range
    qint64 evictions = 0;      ///< notes pushed out by the notes written in the range
    double importanceSum = 0;  ///< over the range's tokens
    float importanceMax = 0;
    double importanceMean() const { return tokens > 0 ? importanceSum / double(tokens) : 0.0; }
};

/// The surprisal track over a token range (NaN tokens count as 0 and never as the max).
struct SurprisalBin {
    qint64 tokens = 0;
    double sum = 0;
    float max = 0;
    double mean() const { return tokens > 0 ? sum / double(tokens) : 0.0; }
};

/// A horizontal cell of the map: token range [tokenBegin, tokenEnd) drawn on pixel
/// columns [x0, x1). Cells partition the visible tokens, so their counts add up exactly.
struct MemoryMapCell {
    int x0 = 0;
    int x1 = 0;
    qint64 tokenBegin = 0;
    qint64 tokenEnd = 0;
};

class MemoryMapIndex {
public:
    /// Smallest block kept in the pyramid is 2^kMinLevel tokens; shorter runs are read raw.
    static constexpr int kMinLevel = 4;

    explicit MemoryMapIndex(std::shared_ptr<const MemoryMapData> data);

    const MemoryMapData& data() const { return *m_data; }
    std::shared_ptr<const MemoryMapData> sharedData() const { return m_data; }
    int layerCount() const { return m_data->layerCount; }
    qint64 tokenCount() const { return m_data->tokenCount(); }

    MemoryBin layerBin(int layer, qint64 tokenBegin, qint64 tokenEnd) const;
    SurprisalBin surprisalBin(qint64 tokenBegin, qint64 tokenEnd) const;
    float importance(int layer, qint64 token) const;
    float surprisal(qint64 token) const;

    /// Splits [tokenBegin, tokenEnd) over `width` pixels: one cell per pixel column when
    /// there are more tokens than pixels (each column takes the tokens whose start falls
    /// in it), else one cell per token (a token spans one or more columns).
    static QVector<MemoryMapCell> cells(qint64 tokenBegin, qint64 tokenEnd, int width);

    /// Token holding code point `charPosition` (clamped to the document).
    qint64 tokenAtChar(qint64 charPosition) const;
    qint64 charStart(qint64 token) const;
    qint64 charEnd(qint64 token) const;

    /// Indices into data().notes of the notes written from tokens in [begin, end) of
    /// `layer`, in position order.
    QVector<int> notesIn(int layer, qint64 tokenBegin, qint64 tokenEnd) const;
    /// The note written from `token` in `layer`, or -1.
    int noteAt(int layer, qint64 token) const;
    /// Index of the last note of `layer` that evicted the entry noted from `token`, or -1.
    int evictionOf(int layer, qint64 token) const;

    /// The largest mean surprisal over 1/1000 of the book: the surprisal track's full scale.
    double maxSurprisalMean() const { return m_maxSurprisalMean; }

private:
    struct Pyramid {
        QVector<QVector<float>> sums;  ///< [level - kMinLevel][block]
        QVector<QVector<float>> maxes;
        void build(const QVector<float>& raw);
    };
    template <typename Raw, typename Block>
    static void visit(qint64 begin, qint64 end, int levels, Raw raw, Block block);

    std::shared_ptr<const MemoryMapData> m_data;
    QVector<Pyramid> m_importance;          ///< per layer
    Pyramid m_surprisal;
    QVector<float> m_surprisalClean;        ///< NaN replaced by 0
    QVector<QVector<qint64>> m_insertAt;    ///< per layer, token positions sorted
    QVector<QVector<int>> m_insertNote;     ///< per layer, index into data().notes, same order
    QVector<QVector<qint64>> m_evictAt;     ///< per layer, where each eviction happened, sorted
    QVector<QVector<qint64>> m_evictedToken;  ///< per layer, evicted token positions sorted
    QVector<QVector<int>> m_evictedBy;        ///< same order: index of the evicting note
    double m_maxSurprisalMean = 0;
};

}  // namespace mm::ui
