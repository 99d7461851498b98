// EPUB: the zip container with its limits, container.xml, the package document, the
// navigation document or NCX, the spine's XHTML. Bad input must end in ImportError.
#include "fuzz_passages.h"
#include "storage/import/epub_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArray bytes(reinterpret_cast<const char*>(data), qsizetype(size));
    try {
        const mm::import::ImportedDocument doc = mm::import::readEpubBytes(bytes, QStringLiteral("fuzz.epub"));
        FUZZ_CHECK(!doc.text.trimmed().isEmpty());
        checkChaptersAndPassages(doc.text, doc.chapters);
    } catch (const mm::import::ImportError&) {
    }
    return 0;
}
