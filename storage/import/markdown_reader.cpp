#include "storage/import/importer.h"
#include "storage/import/metadata.h"
#include "storage/import/text_reader.h"

namespace mm::import {

// The Markdown source is stored as it is (the reader view renders it); only headings
// become chapters.
void MarkdownReader::convert(ImportedDocument& doc) const
{
    const TitleAuthor guess = guessMarkdownTitleAuthor(doc.text);
    doc.title = guess.title;
    doc.author = guess.author;
    doc.chapters = detectMarkdownChapters(doc.text);
}

}  // namespace mm::import
