// Shared by the text-like fuzz targets: passages must tile the text and stay in their
// chapters, chapters must lie inside the text and be in order.
#pragma once

#include "fuzz_check.h"
#include "storage/import/importer.h"
#include "storage/text_offsets.h"

inline void checkChaptersAndPassages(const QString& text, const QVector<mm::import::ImportedChapter>& chapters)
{
    qint64 previous = 0;
    for (const auto& c : chapters) {
        FUZZ_CHECK(c.utf16Offset >= previous && c.utf16Offset <= text.size());
        previous = c.utf16Offset;
    }
    const mm::storage::CodePointIndex index(text);
    const auto passages = mm::import::splitPassages(text, chapters, 100, 200);
    qint64 end = 0;
    for (const auto& p : passages) {
        FUZZ_CHECK(p.charStart == end);
        FUZZ_CHECK(p.charEnd > p.charStart);
        FUZZ_CHECK(p.chapterIndex >= -1 && p.chapterIndex < chapters.size());
        end = p.charEnd;
    }
    FUZZ_CHECK(end == index.codePointCount() || text.isEmpty());
}
