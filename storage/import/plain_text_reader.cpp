#include "storage/import/importer.h"
#include "storage/import/metadata.h"
#include "storage/import/text_reader.h"

namespace mm::import {

TitleAuthor PlainTextReader::guessTitleAuthor(const QString& text) const
{
    return guessTextTitleAuthor(text);
}

QVector<ImportedChapter> PlainTextReader::detectChapters(const QString& text) const
{
    return detectTextChapters(text);
}

}  // namespace mm::import
