// splitPassages (declared in importer.h): cuts a text into passages for search and for
// the model's memory map. Works on UTF-16 indices, measures in code points.
#include "storage/import/importer.h"

#include "storage/text_offsets.h"

#include <algorithm>

namespace mm::import {
namespace {

/// Cut quality, best first: a cut is always placed at the start of what follows.
enum class Boundary { Paragraph, Line, Sentence, Word, None };

Boundary boundaryAt(const QString& text, qsizetype i)
{
    const QChar prev = text[i - 1];
    const QChar cur = text[i];
    if (cur.isLowSurrogate())
        return Boundary::None;  // never split a surrogate pair
    if (prev == QLatin1Char('\n')) {
        if (cur == QLatin1Char('\n'))
            return Boundary::None;  // keep blank lines with the paragraph before
        // A blank line (possibly holding spaces) before this line: a paragraph start.
        qsizetype j = i - 2;
        while (j >= 0 && (text[j] == QLatin1Char(' ') || text[j] == QLatin1Char('\t')))
            --j;
        return (j >= 0 && text[j] == QLatin1Char('\n')) ? Boundary::Paragraph : Boundary::Line;
    }
    if (prev.isSpace() && !cur.isSpace()) {
        qsizetype j = i - 1;
        while (j > 0 && text[j].isSpace())
            --j;
        const QChar end = text[j];
        if (end == QLatin1Char('.') || end == QLatin1Char('!') || end == QLatin1Char('?') || end == QChar(0x201D)
            || end == QLatin1Char('"') || end == QChar(0x2019))
            return Boundary::Sentence;
        return Boundary::Word;
    }
    return Boundary::None;
}

/// The best cut in (lo, hi]: the latest boundary of the best kind found.
qsizetype bestCut(const QString& text, qsizetype lo, qsizetype hi)
{
    qsizetype best[4] = {-1, -1, -1, -1};
    for (qsizetype i = hi; i > lo; --i) {
        const Boundary b = boundaryAt(text, i);
        if (b == Boundary::None)
            continue;
        qsizetype& slot = best[int(b)];
        if (slot < 0)
            slot = i;
        if (b == Boundary::Paragraph)
            break;  // nothing better can be found further back
    }
    for (qsizetype cut : best)
        if (cut > 0)
            return cut;
    // No boundary at all (one enormous token): a hard cut, kept off surrogate pairs.
    return text[hi].isLowSurrogate() ? hi - 1 : hi;
}

}  // namespace

QVector<storage::PassageSpan> splitPassages(const QString& text, const QVector<ImportedChapter>& chapters,
                                            int minChars, int maxChars)
{
    QVector<storage::PassageSpan> passages;
    if (text.isEmpty())
        return passages;
    minChars = std::max(1, minChars);
    maxChars = std::max(minChars, maxChars);
    const storage::CodePointIndex index(text);

    QVector<qsizetype> starts;  // chapter starts, UTF-16, sorted
    for (const ImportedChapter& c : chapters)
        starts.push_back(std::clamp<qsizetype>(c.utf16Offset, 0, text.size()));
    std::sort(starts.begin(), starts.end());

    QVector<qsizetype> segmentEnds;  // pieces between chapter starts
    for (qsizetype s : starts)
        if (s > 0 && s < text.size() && (segmentEnds.isEmpty() || segmentEnds.back() != s))
            segmentEnds.push_back(s);
    segmentEnds.push_back(text.size());

    // The chapter a passage lies in: the last one starting at or before it.
    auto chapterOf = [&](qsizetype utf16Start) {
        const auto it = std::upper_bound(starts.begin(), starts.end(), utf16Start);
        return int(it - starts.begin()) - 1;
    };
    auto addPassage = [&](qsizetype from, qsizetype to) {
        passages.push_back({index.toCodePoint(from), index.toCodePoint(to), chapterOf(from)});
    };

    qsizetype pos = 0;
    for (qsizetype segmentEnd : segmentEnds) {
        while (pos < segmentEnd) {
            const qint64 posCp = index.toCodePoint(pos);
            const qint64 remaining = index.toCodePoint(segmentEnd) - posCp;
            if (remaining <= maxChars) {
                addPassage(pos, segmentEnd);
                pos = segmentEnd;
                break;
            }
            // Leave at least minChars for the rest of the segment when it can be done.
            qint64 hiCp = maxChars;
            if (remaining - minChars >= minChars)
                hiCp = std::min<qint64>(hiCp, remaining - minChars);
            const qsizetype lo = index.toUtf16(posCp + minChars) - 1;
            const qsizetype hi = index.toUtf16(posCp + hiCp);
            const qsizetype cut = bestCut(text, lo, hi);
            addPassage(pos, cut);
            pos = cut;
        }
    }
    return passages;
}

}  // namespace mm::import
