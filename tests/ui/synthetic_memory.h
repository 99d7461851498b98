// Synthetic memory data for the GUI tests: a made-up book (words as tokens, chapters),
// importance and surprisal from a fixed-seed generator, and note events from a replay
// of docs/spec/MODEL.md's pool rule (per note chunk, the tokens over tau, at most k, merged into a
// pool of M by priority). Deterministic; no model, no storage.
#pragma once

#include "ui/memory_types.h"

#include <QString>
#include <QStringList>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>

namespace mm::test {

struct SyntheticBook {
    QString text;
    std::shared_ptr<ui::MemoryMapData> data;
    QVector<int> tokenLengths;  ///< code points of each word (its token has a space after)
};

class Lcg {
public:
    explicit Lcg(uint64_t seed) : m_state(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
    uint32_t next()
    {
        m_state = m_state * 6364136223846793005ULL + 1442695040888963407ULL;
        return uint32_t(m_state >> 33);
    }
    double uniform() { return double(next()) / double(1u << 31); }

private:
    uint64_t m_state;
};

/// Replays docs/spec/MODEL.md's pool rule over data's importance: fills data.notes.
inline void replayPools(ui::MemoryMapData& d, int topK = 8, float tau = 0.5f)
{
    ui::MemoryMapData* data = &d;
    const int layers = d.layerCount;
    const qint64 tokens = d.tokenCount();
    const int poolSize = d.poolSize;
    const int chunk = d.noteChunk;
    data->notes.clear();
    // Replay the pool rule to get the note events (insertions with their evictions).
    struct Entry { qint64 position; float priority; int slot; };
    QVector<QVector<Entry>> pools(layers);
    for (qint64 c0 = 0; c0 < tokens; c0 += chunk) {
        const qint64 c1 = std::min(tokens, c0 + chunk);
        if (c1 - c0 < chunk)
            break;  // an unfinished chunk writes nothing yet
        for (int l = 0; l < layers; ++l) {
            QVector<Entry>& pool = pools[l];
            QVector<Entry> candidates;
            for (qint64 t = c0; t < c1; ++t) {
                const float a = data->importance[l][t];
                if (a > tau)
                    candidates.push_back({t, a, -1});
            }
            std::stable_sort(candidates.begin(), candidates.end(),
                             [](const Entry& a, const Entry& b) { return a.priority > b.priority; });
            if (candidates.size() > topK)
                candidates.resize(topK);
            std::sort(candidates.begin(), candidates.end(),
                      [](const Entry& a, const Entry& b) { return a.position < b.position; });
            for (Entry cand : candidates) {
                ui::MemoryNoteEvent e;
                e.layer = l;
                e.position = cand.position;
                e.score = cand.priority;
                if (pool.size() < poolSize) {
                    e.slot = int(pool.size());
                    pool.push_back({cand.position, cand.priority, e.slot});
                } else {
                    auto weakest = std::min_element(pool.begin(), pool.end(), [](const Entry& a, const Entry& b) {
                        return a.priority < b.priority;
                    });
                    if (weakest->priority >= cand.priority)
                        continue;  // not kept: no event
                    e.slot = weakest->slot;
                    e.evictedPosition = weakest->position;
                    *weakest = {cand.position, cand.priority, e.slot};
                }
                data->notes.push_back(e);
            }
        }
    }
    std::stable_sort(data->notes.begin(), data->notes.end(),
                     [](const ui::MemoryNoteEvent& a, const ui::MemoryNoteEvent& b) { return a.position < b.position; });
}

/// `tokens` tokens over `layers` layers; chapters every tokens/chapters tokens. With
/// `withText` false the text is left empty (a 1M-token book's text is 6 MB).
inline SyntheticBook makeSyntheticBook(qint64 tokens, int layers = 8, int chapters = 6, bool withText = true,
                                       int poolSize = 50, int chunk = 128, int topK = 8, float tau = 0.5f)
{
    static const QStringList words = {
        QStringLiteral("the"),     QStringLiteral("keeper"),  QStringLiteral("lamp"),   QStringLiteral("of"),
        QStringLiteral("sea"),     QStringLiteral("and"),     QStringLiteral("wind"),   QStringLiteral("Marguerite"),
        QStringLiteral("1847"),    QStringLiteral("stair"),   QStringLiteral("brass"),  QStringLiteral("telescope"),
        QStringLiteral("harbour"), QStringLiteral("was"),     QStringLiteral("seventh"), QStringLiteral("a"),
    };
    SyntheticBook book;
    auto data = std::make_shared<ui::MemoryMapData>();
    data->docId = 1;
    data->layerCount = layers;
    data->poolSize = poolSize;
    data->noteChunk = chunk;
    data->tokenChars.resize(tokens);
    data->surprisal.resize(tokens);
    data->importance.resize(layers);
    for (auto& row : data->importance)
        row.resize(tokens);
    Lcg rng(42);
    qint64 chars = 0;
    const qint64 chapterEvery = std::max<qint64>(1, tokens / std::max(1, chapters));
    QString text;
    if (withText)
        text.reserve(int(tokens * 7));
    for (qint64 t = 0; t < tokens; ++t) {
        if (t % chapterEvery == 0 && t / chapterEvery < chapters) {
            const QString heading = QStringLiteral("\n\nCHAPTER %1\n\n").arg(t / chapterEvery + 1);
            data->chapters.push_back({chars, heading.trimmed()});
            if (withText)
                text += heading;
            chars += heading.size();
        }
        const int wordIndex = int(rng.next() % uint32_t(words.size()));
        const QString& w = words[wordIndex];
        data->tokenChars[t] = chars;
        book.tokenLengths.push_back(int(w.size()));
        const bool rare = w.at(0).isUpper() || w.at(0).isDigit();
        data->surprisal[t] = t == 0 ? std::nanf("") : float((rare ? 6.0 : 1.0) + 3.0 * rng.uniform());
        // Each layer has its favourite words, and later text scores a little higher
        // (so notes keep replacing older ones all through the book, as new facts do).
        const double drift = 0.3 * double(t) / double(tokens);
        for (int l = 0; l < layers; ++l) {
            double a = rare ? 0.45 + 0.35 * rng.uniform() : 0.4 * rng.uniform();
            if (wordIndex % layers == l % words.size() % layers)
                a += 0.15;
            data->importance[l][t] = float(std::clamp(0.7 * a + drift * (l % 3 == 2 ? 0.5 : 1.0), 0.0, 0.999));
        }
        if (withText) {
            text += w;
            text += QLatin1Char(' ');
        }
        chars += w.size() + 1;
    }
    data->textLength = chars;

    replayPools(*data, topK, tau);
    book.text = text;
    book.data = data;
    return book;
}

/// Memory data for a real text: whitespace-separated words as tokens (the text must be
/// free of surrogate pairs, so UTF-16 indices are code points), capitalised words and
/// numbers "surprising", chapters as given.
inline SyntheticBook bookFromText(const QString& text, qint64 docId, int layers,
                                  const QVector<ui::MemoryChapterMark>& chapters)
{
    SyntheticBook book;
    book.text = text;
    auto data = std::make_shared<ui::MemoryMapData>();
    data->docId = docId;
    data->layerCount = layers;
    data->textLength = text.size();
    data->chapters = chapters;
    data->noteChunk = 32;  // a short book: small chunks, so notes come and go
    data->poolSize = 12;
    Lcg rng(7);
    int i = 0;
    while (i < text.size()) {
        while (i < text.size() && text.at(i).isSpace())
            ++i;
        if (i >= text.size())
            break;
        int j = i;
        while (j < text.size() && !text.at(j).isSpace())
            ++j;
        data->tokenChars.push_back(i);
        book.tokenLengths.push_back(j - i);
        i = j;
    }
    const qint64 n = data->tokenCount();
    data->surprisal.resize(n);
    data->importance.resize(layers);
    for (auto& row : data->importance)
        row.resize(n);
    for (qint64 t = 0; t < n; ++t) {
        const QChar c = text.at(int(data->tokenChars[t]));
        const bool rare = c.isUpper() || c.isDigit();
        data->surprisal[t] = t == 0 ? std::nanf("") : float((rare ? 6.0 : 1.0) + 3.0 * rng.uniform());
        for (int l = 0; l < layers; ++l)
            data->importance[l][t] = float(rare ? 0.5 + 0.45 * rng.uniform() : 0.45 * rng.uniform());
    }
    replayPools(*data, 4, 0.5f);
    book.data = data;
    return book;
}

/// Every layer's pool as it stood at `atChar` (after the last note chunk that closed at
/// or before it), with the notes evicted before it: what MemoryService::poolReady carries.
inline ui::PoolSnapshot poolAt(const SyntheticBook& book, qint64 atChar)
{
    const ui::MemoryMapData& d = *book.data;
    ui::PoolSnapshot snap;
    snap.docId = d.docId;
    snap.atChar = atChar;
    snap.layerCount = d.layerCount;
    snap.poolSize = d.poolSize;
    const auto it = std::upper_bound(d.tokenChars.cbegin(), d.tokenChars.cend(), atChar);
    snap.atToken = std::max<qint64>(0, qint64(it - d.tokenChars.cbegin()) - 1);
    const qint64 closed = (snap.atToken + 1) / d.noteChunk * d.noteChunk;  // tokens whose chunk closed
    auto charEnd = [&](qint64 t) { return d.tokenChars[t] + book.tokenLengths[t]; };
    QVector<QVector<ui::PoolEntry>> pools(d.layerCount);
    for (auto& p : pools)
        p.resize(d.poolSize);
    QVector<QVector<bool>> used(d.layerCount, QVector<bool>(d.poolSize, false));
    for (const ui::MemoryNoteEvent& e : d.notes) {
        if (e.position >= closed)
            break;
        if (e.evictedPosition >= 0) {
            ui::EvictedNote ev;
            ev.layer = e.layer;
            ev.tokenPosition = e.evictedPosition;
            ev.charStart = d.tokenChars[e.evictedPosition];
            ev.charEnd = charEnd(e.evictedPosition);
            ev.evictedAtToken = e.position;
            snap.evicted.push_back(ev);
        }
        ui::PoolEntry entry;
        entry.layer = e.layer;
        entry.slot = e.slot;
        entry.tokenPosition = e.position;
        entry.charStart = d.tokenChars[e.position];
        entry.charEnd = charEnd(e.position);
        entry.score = e.score;
        pools[e.layer][e.slot] = entry;
        used[e.layer][e.slot] = true;
    }
    for (int l = 0; l < d.layerCount; ++l) {
        for (int s = 0; s < d.poolSize; ++s) {
            if (!used[l][s])
                continue;
            ui::PoolEntry entry = pools[l][s];
            entry.ageTokens = snap.atToken - entry.tokenPosition;
            if (!book.text.isEmpty()) {
                const qint64 from = std::max<qint64>(0, entry.charStart - 30);
                entry.context = book.text.mid(int(from), int(entry.charEnd + 30 - from)).simplified();
                entry.contextTokenStart = int(entry.context.indexOf(book.text.mid(int(entry.charStart),
                                                                                 int(entry.charEnd - entry.charStart))));
                entry.contextTokenLength = int(entry.charEnd - entry.charStart);
            }
            snap.entries.push_back(entry);
        }
    }
    return snap;
}

}  // namespace mm::test
