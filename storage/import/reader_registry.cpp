#include "storage/import/document_reader.h"
#include "storage/import/text_reader.h"

#include <QFileInfo>

namespace mm::import {

const ReaderRegistry& ReaderRegistry::instance()
{
    static const ReaderRegistry registry;
    return registry;
}

ReaderRegistry::ReaderRegistry()
{
    // Readers live as long as the program; EPUB, HTML and PDF readers join this list.
    static const PlainTextReader plainText;
    static const MarkdownReader markdown;
    m_readers = {&plainText, &markdown};
}

const DocumentReader* ReaderRegistry::readerFor(const QString& path) const
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    for (const DocumentReader* reader : m_readers)
        if (reader->suffixes().contains(suffix))
            return reader;
    // README, LICENSE, NOTES: a file without a suffix is most likely plain text (the
    // reader still refuses it if its bytes look binary).
    if (suffix.isEmpty())
        return m_readers.first();
    return nullptr;
}

QVector<const DocumentReader*> ReaderRegistry::readers() const
{
    return m_readers;
}

QStringList ReaderRegistry::supportedSuffixes() const
{
    QStringList all;
    for (const DocumentReader* reader : m_readers)
        all << reader->suffixes();
    return all;
}

}  // namespace mm::import
