// Plain text: decoding (UTF-8 check in pieces, windows-1252 fallback), line endings,
// title/author, chapter detection and passage cutting.
#include "fuzz_passages.h"
#include "storage/import/metadata.h"
#include "storage/import/text_decoding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const QByteArray bytes(reinterpret_cast<const char*>(data), qsizetype(size));
    mm::import::binaryReason(bytes);
    // The scanner must give the same answer whatever the piece boundaries.
    mm::import::Utf8Scanner whole;
    whole.feed(bytes.constData(), bytes.size());
    whole.finish();
    mm::import::Utf8Scanner pieces;
    const qsizetype cut = size > 0 ? qsizetype(data[0]) % (bytes.size() + 1) : 0;
    pieces.feed(bytes.constData(), cut);
    pieces.feed(bytes.constData() + cut, bytes.size() - cut);
    pieces.finish();
    FUZZ_CHECK(whole.invalidBytes() == pieces.invalidBytes());
    FUZZ_CHECK(whole.multiByteSequences() == pieces.multiByteSequences());

    const QString text = mm::import::normalizeLineEndings(mm::import::decodeText(bytes).text);
    FUZZ_CHECK(!text.contains(QLatin1Char('\r')));
    mm::import::guessTextTitleAuthor(text);
    checkChaptersAndPassages(text, mm::import::detectTextChapters(text));
    return 0;
}
