// Markdown: front matter, headings (outside fences) and passages.
#include "fuzz_passages.h"
#include "storage/import/metadata.h"
#include "storage/import/text_decoding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArray bytes(reinterpret_cast<const char*>(data), qsizetype(size));
    const QString text = mm::import::normalizeLineEndings(mm::import::decodeText(bytes).text);
    mm::import::guessMarkdownTitleAuthor(text);
    checkChaptersAndPassages(text, mm::import::detectMarkdownChapters(text));
    return 0;
}
