#include "storage/import/document_reader.h"
#include "storage/import/epub_reader.h"
#include "storage/import/pdf_reader.h"
#include "storage/import/text_reader.h"

#include <QFile>
#include <QFileInfo>

namespace mm::import {
namespace {

/// What the first bytes say a file is, whatever its name: "pdf", "zip" or "" (text or
/// unknown). PDF readers accept "%PDF-" anywhere in the first 1024 bytes.
QString sniffContainer(const QByteArray& head)
{
    if (head.left(1024).contains("%PDF-"))
        return QStringLiteral("pdf");
    if (head.startsWith("PK\x03\x04") || head.startsWith("PK\x05\x06"))
        return QStringLiteral("zip");
    return {};
}

[[noreturn]] void refuse(const QString& path, const QString& problem)
{
    throw ImportError(QStringLiteral("'%1' %2").arg(QFileInfo(path).fileName(), problem).toStdString());
}

}  // namespace

const ReaderRegistry& ReaderRegistry::instance()
{
    static const ReaderRegistry registry;
    return registry;
}

ReaderRegistry::ReaderRegistry()
{
    // Readers live as long as the program; the first is the one for files without suffix.
    static const PlainTextReader plainText;
    static const MarkdownReader markdown;
#if defined(MEMMAMBA_NO_IMPORT_FORMATS)
    // Built with MEMMAMBA_IMPORT_FORMATS=OFF (the GPU machine lacks libzip, gumbo,
    // pugixml and Qt Pdf): plain text and Markdown only.
    m_readers = {&plainText, &markdown};
#else
    static const HtmlReader html;
    static const EpubReader epub;
    static const PdfReader pdf;
    m_readers = {&plainText, &markdown, &html, &epub, &pdf};
#endif
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

const DocumentReader* ReaderRegistry::readerForContent(const QString& path) const
{
    const DocumentReader* reader = readerFor(path);
    if (!reader)
        refuse(path, QStringLiteral("has an unsupported format (supported: %1)").arg(supportedSuffixes().join(QStringLiteral(", "))));
    const QFileInfo info(path);
    if (!info.exists())
        throw ImportError(QStringLiteral("cannot import '%1': the file does not exist").arg(path).toStdString());
    if (info.isDir())
        throw ImportError(QStringLiteral("cannot import '%1': it is a folder").arg(path).toStdString());
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    const QByteArray head = file.read(1024);
    if (head.isEmpty())
        refuse(path, QStringLiteral("is empty"));
    const QString found = sniffContainer(head);
    const QString format = reader->format();
    const bool textLike = format == QLatin1String("txt") || format == QLatin1String("md") || format == QLatin1String("html");
    if (found == QLatin1String("pdf") && format != QLatin1String("pdf") && !(textLike && !head.startsWith("%PDF-")))
        refuse(path, QStringLiteral("is really a PDF document, not %1: rename it to .pdf to import it").arg(format.toUpper()));
    if (found == QLatin1String("zip") && format != QLatin1String("epub"))
        refuse(path, QStringLiteral("is really a zip archive, not %1%2").arg(format.toUpper(),
            format == QLatin1String("pdf") ? QString() : QStringLiteral(" (an EPUB? rename it to .epub to import it)")));
    if (format == QLatin1String("pdf") && found != QLatin1String("pdf"))
        refuse(path, QStringLiteral("is not a PDF document: it does not start with %PDF-"));
    if (format == QLatin1String("epub") && found != QLatin1String("zip"))
        refuse(path, QStringLiteral("is not an EPUB: it is not a zip archive"));
    return reader;
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
