#include "storage/import/importer.h"
#include "storage/import/metadata.h"
#include "storage/import/text_reader.h"

namespace mm::import {

void PlainTextReader::convert(ImportedDocument& doc) const
{
    const TitleAuthor guess = guessTextTitleAuthor(doc.text);
    doc.title = guess.title;
    doc.author = guess.author;
    doc.chapters = detectTextChapters(doc.text);
}

}  // namespace mm::import
