#include "storage/import/importer.h"
#include "storage/import/metadata.h"
#include "storage/import/text_reader.h"

namespace mm::import {

// The Markdown source is stored as it is (the reader view renders it); only headings
// become chapters.
TitleAuthor MarkdownReader::guessTitleAuthor(const QString& text) const
{
    return guessMarkdownTitleAuthor(text);
}

QVector<ImportedChapter> MarkdownReader::detectChapters(const QString& text) const
{
    return detectMarkdownChapters(text);
}

}  // namespace mm::import
