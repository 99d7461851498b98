#include "ui/memory_map_index.h"

#include <QtAlgorithms>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mm::ui {

namespace {

int floorLog2(quint64 v)
{
    return 63 - qCountLeadingZeroBits(v);
}

qint64 countIn(const QVector<qint64>& sorted, qint64 begin, qint64 end)
{
    const auto lo = std::lower_bound(sorted.cbegin(), sorted.cend(), begin);
    const auto hi = std::lower_bound(lo, sorted.cend(), end);
    return qint64(hi - lo);
}

}  // namespace

void MemoryMapIndex::Pyramid::build(const QVector<float>& raw)
{
    sums.clear();
    maxes.clear();
    const qint64 n = raw.size();
    const qint64 base = qint64(1) << kMinLevel;
    if (n < base)
        return;
    QVector<float> s(n / base), m(n / base);
    for (qint64 b = 0; b < s.size(); ++b) {
        double sum = 0;
        float mx = 0;
        for (qint64 i = b * base; i < (b + 1) * base; ++i) {
            sum += raw[i];
            mx = std::max(mx, raw[i]);
        }
        s[b] = float(sum);
        m[b] = mx;
    }
    sums << s;
    maxes << m;
    while (sums.last().size() >= 2) {
        const QVector<float>& ps = sums.last();
        const QVector<float>& pm = maxes.last();
        QVector<float> ns(ps.size() / 2), nm(ps.size() / 2);
        for (qint64 b = 0; b < ns.size(); ++b) {
            ns[b] = ps[2 * b] + ps[2 * b + 1];
            nm[b] = std::max(pm[2 * b], pm[2 * b + 1]);
        }
        sums << ns;
        maxes << nm;
    }
}

MemoryMapIndex::MemoryMapIndex(std::shared_ptr<const MemoryMapData> data) : m_data(std::move(data))
{
    if (!m_data)
        m_data = std::make_shared<MemoryMapData>();
    const MemoryMapData& d = *m_data;
    const int layers = d.layerCount;
    const qint64 n = d.tokenCount();

    m_importance.resize(layers);
    for (int l = 0; l < layers && l < d.importance.size(); ++l) {
        if (d.importance[l].size() == n)
            m_importance[l].build(d.importance[l]);
    }

    if (d.surprisal.size() == n) {
        m_surprisalClean = d.surprisal;
        for (float& v : m_surprisalClean) {
            if (!std::isfinite(v))
                v = 0;
        }
        m_surprisal.build(m_surprisalClean);
        const qint64 step = std::max<qint64>(1, n / 1000);
        for (qint64 t = 0; t < n; t += step)
            m_maxSurprisalMean = std::max(m_maxSurprisalMean, surprisalBin(t, std::min(n, t + step)).mean());
    }

    m_insertAt.resize(layers);
    m_insertNote.resize(layers);
    m_evictAt.resize(layers);
    m_evictedToken.resize(layers);
    m_evictedBy.resize(layers);
    for (int i = 0; i < d.notes.size(); ++i) {
        const MemoryNoteEvent& e = d.notes[i];
        if (e.layer < 0 || e.layer >= layers)
            continue;
        m_insertAt[e.layer] << e.position;
        m_insertNote[e.layer] << i;
        if (e.evictedPosition >= 0)
            m_evictAt[e.layer] << e.position;
    }
    for (int l = 0; l < layers; ++l) {
        // Events come in order of occurrence, which is position order; sort anyway
        // (stable, keeping the note indices with their positions).
        QVector<int> order(m_insertAt[l].size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](int a, int b) { return m_insertAt[l][a] < m_insertAt[l][b]; });
        QVector<qint64> at;
        QVector<int> note;
        at.reserve(order.size());
        note.reserve(order.size());
        for (int o : order) {
            at << m_insertAt[l][o];
            note << m_insertNote[l][o];
        }
        m_insertAt[l] = at;
        m_insertNote[l] = note;
        std::sort(m_evictAt[l].begin(), m_evictAt[l].end());

        QVector<int> evictions;
        for (int idx : std::as_const(m_insertNote[l])) {
            if (d.notes[idx].evictedPosition >= 0)
                evictions << idx;
        }
        std::stable_sort(evictions.begin(), evictions.end(), [&](int a, int b) {
            return d.notes[a].evictedPosition < d.notes[b].evictedPosition;
        });
        for (int idx : std::as_const(evictions)) {
            m_evictedToken[l] << d.notes[idx].evictedPosition;
            m_evictedBy[l] << idx;
        }
    }
}

template <typename Raw, typename Block>
void MemoryMapIndex::visit(qint64 begin, qint64 end, int levels, Raw raw, Block block)
{
    // Greedy decomposition into aligned power-of-two blocks: at most two runs of fewer
    // than 2^kMinLevel raw tokens and two blocks per level.
    const int maxLevel = kMinLevel + levels - 1;
    qint64 t = begin;
    while (t < end) {
        int k = floorLog2(quint64(end - t));
        if (t > 0)
            k = std::min(k, int(qCountTrailingZeroBits(quint64(t))));
        k = std::min(k, maxLevel);
        if (k < kMinLevel) {
            raw(t);
            ++t;
        } else {
            block(k - kMinLevel, t >> k);
            t += qint64(1) << k;
        }
    }
}

MemoryBin MemoryMapIndex::layerBin(int layer, qint64 tokenBegin, qint64 tokenEnd) const
{
    MemoryBin bin;
    if (layer < 0 || layer >= layerCount())
        return bin;
    tokenBegin = std::clamp<qint64>(tokenBegin, 0, tokenCount());
    tokenEnd = std::clamp<qint64>(tokenEnd, tokenBegin, tokenCount());
    bin.tokens = tokenEnd - tokenBegin;
    bin.insertions = countIn(m_insertAt[layer], tokenBegin, tokenEnd);
    bin.evictions = countIn(m_evictAt[layer], tokenBegin, tokenEnd);
    if (layer < m_data->importance.size() && m_data->importance[layer].size() == tokenCount()) {
        const QVector<float>& raw = m_data->importance[layer];
        const Pyramid& p = m_importance[layer];
        visit(
            tokenBegin, tokenEnd, int(p.sums.size()),
            [&](qint64 t) {
                bin.importanceSum += raw[t];
                bin.importanceMax = std::max(bin.importanceMax, raw[t]);
            },
            [&](int level, qint64 b) {
                bin.importanceSum += p.sums[level][b];
                bin.importanceMax = std::max(bin.importanceMax, p.maxes[level][b]);
            });
    }
    return bin;
}

SurprisalBin MemoryMapIndex::surprisalBin(qint64 tokenBegin, qint64 tokenEnd) const
{
    SurprisalBin bin;
    tokenBegin = std::clamp<qint64>(tokenBegin, 0, tokenCount());
    tokenEnd = std::clamp<qint64>(tokenEnd, tokenBegin, tokenCount());
    if (m_surprisalClean.size() != tokenCount())
        return bin;
    bin.tokens = tokenEnd - tokenBegin;
    visit(
        tokenBegin, tokenEnd, int(m_surprisal.sums.size()),
        [&](qint64 t) {
            bin.sum += m_surprisalClean[t];
            bin.max = std::max(bin.max, m_surprisalClean[t]);
        },
        [&](int level, qint64 b) {
            bin.sum += m_surprisal.sums[level][b];
            bin.max = std::max(bin.max, m_surprisal.maxes[level][b]);
        });
    return bin;
}

float MemoryMapIndex::importance(int layer, qint64 token) const
{
    if (layer < 0 || layer >= m_data->importance.size() || token < 0 || token >= m_data->importance[layer].size())
        return 0;
    return m_data->importance[layer][token];
}

float MemoryMapIndex::surprisal(qint64 token) const
{
    if (token < 0 || token >= m_data->surprisal.size())
        return std::nanf("");
    return m_data->surprisal[token];
}

QVector<MemoryMapCell> MemoryMapIndex::cells(qint64 tokenBegin, qint64 tokenEnd, int width)
{
    QVector<MemoryMapCell> out;
    const qint64 span = tokenEnd - tokenBegin;
    if (span <= 0 || width <= 0)
        return out;
    if (span >= width) {
        // Column x holds the tokens t with floor((t - begin) * width / span) == x.
        out.reserve(width);
        for (int x = 0; x < width; ++x) {
            MemoryMapCell c;
            c.x0 = x;
            c.x1 = x + 1;
            c.tokenBegin = tokenBegin + (qint64(x) * span + width - 1) / width;
            c.tokenEnd = tokenBegin + (qint64(x + 1) * span + width - 1) / width;
            if (c.tokenEnd > c.tokenBegin)
                out << c;
        }
    } else {
        out.reserve(int(span));
        for (qint64 i = 0; i < span; ++i) {
            MemoryMapCell c;
            c.x0 = int(i * width / span);
            c.x1 = int((i + 1) * width / span);
            c.tokenBegin = tokenBegin + i;
            c.tokenEnd = c.tokenBegin + 1;
            out << c;
        }
    }
    return out;
}

qint64 MemoryMapIndex::tokenAtChar(qint64 charPosition) const
{
    const QVector<qint64>& starts = m_data->tokenChars;
    if (starts.isEmpty())
        return 0;
    const auto it = std::upper_bound(starts.cbegin(), starts.cend(), charPosition);
    return std::max<qint64>(0, qint64(it - starts.cbegin()) - 1);
}

qint64 MemoryMapIndex::charStart(qint64 token) const
{
    const QVector<qint64>& starts = m_data->tokenChars;
    if (starts.isEmpty())
        return 0;
    return starts[std::clamp<qint64>(token, 0, starts.size() - 1)];
}

qint64 MemoryMapIndex::charEnd(qint64 token) const
{
    const QVector<qint64>& starts = m_data->tokenChars;
    if (token + 1 < starts.size())
        return starts[std::max<qint64>(0, token + 1)];
    return std::max(m_data->textLength, starts.isEmpty() ? 0 : starts.last());
}

QVector<int> MemoryMapIndex::notesIn(int layer, qint64 tokenBegin, qint64 tokenEnd) const
{
    QVector<int> out;
    if (layer < 0 || layer >= layerCount())
        return out;
    const QVector<qint64>& at = m_insertAt[layer];
    const auto lo = std::lower_bound(at.cbegin(), at.cend(), tokenBegin);
    const auto hi = std::lower_bound(lo, at.cend(), tokenEnd);
    for (auto it = lo; it != hi; ++it)
        out << m_insertNote[layer][int(it - at.cbegin())];
    return out;
}

int MemoryMapIndex::noteAt(int layer, qint64 token) const
{
    const QVector<int> notes = notesIn(layer, token, token + 1);
    return notes.isEmpty() ? -1 : notes.first();
}

int MemoryMapIndex::evictionOf(int layer, qint64 token) const
{
    if (layer < 0 || layer >= layerCount())
        return -1;
    const QVector<qint64>& at = m_evictedToken[layer];
    const auto hi = std::upper_bound(at.cbegin(), at.cend(), token);
    if (hi == at.cbegin() || *(hi - 1) != token)
        return -1;
    return m_evictedBy[layer][int(hi - at.cbegin()) - 1];
}

}  // namespace mm::ui
