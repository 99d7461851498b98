// HTML to text (gumbo): offsets of headings and anchors inside the text, no markup
// nesting depth breaks the iterative walk.
#include "fuzz_passages.h"
#include "storage/import/html_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArray bytes(reinterpret_cast<const char*>(data), qsizetype(size));
    const mm::import::HtmlText html = mm::import::htmlToText(bytes);
    QVector<mm::import::ImportedChapter> chapters;
    for (const auto& h : html.headings) {
        FUZZ_CHECK(h.utf16Offset >= 0 && h.utf16Offset <= html.text.size());
        FUZZ_CHECK(h.level >= 1 && h.level <= 6);
        if (chapters.isEmpty() || chapters.last().utf16Offset <= h.utf16Offset)
            chapters.push_back({h.title, h.utf16Offset});
    }
    for (auto it = html.anchors.begin(); it != html.anchors.end(); ++it)
        FUZZ_CHECK(it.value() >= 0 && it.value() <= html.text.size());
    checkChaptersAndPassages(html.text, chapters);
    return 0;
}
