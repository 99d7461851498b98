#include "storage/import/text_reader.h"

#include "storage/import/text_decoding.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>

namespace mm::import {
namespace {

[[noreturn]] void refuse(const QString& path, const QString& problem)
{
    throw ImportError(QStringLiteral("'%1' %2").arg(QFileInfo(path).fileName(), problem).toStdString());
}

bool onlyWhitespace(const QString& text)
{
    for (QChar c : text)
        if (!c.isSpace())
            return false;
    return true;
}

}  // namespace

ImportedDocument TextReaderBase::read(const QString& path) const
{
    const QFileInfo info(path);
    if (!info.exists())
        throw ImportError(QStringLiteral("cannot import '%1': the file does not exist").arg(path).toStdString());
    if (info.isDir())
        throw ImportError(QStringLiteral("cannot import '%1': it is a folder").arg(path).toStdString());
    if (info.size() > maxWholeFileBytes())
        refuse(path, QStringLiteral("is too large to import whole (%1 MB; the limit is %2 MB)")
                         .arg(info.size() / (1024 * 1024)).arg(maxWholeFileBytes() / (1024 * 1024)));

    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    const QByteArray bytes = file.readAll();
    if (file.error() != QFileDevice::NoError)
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());

    if (bytes.isEmpty())
        refuse(path, QStringLiteral("is empty"));
    if (const std::optional<QString> reason = binaryReason(bytes))
        refuse(path, QStringLiteral("looks like a binary file, not text (%1)").arg(*reason));

    ImportedDocument doc;
    doc.format = format();
    doc.sourcePath = info.absoluteFilePath();
    doc.bytes = bytes.size();
    doc.contentHash = QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
    DecodedText decoded = decodeText(bytes);
    doc.encoding = decoded.encoding;
    if (!decoded.warning.isEmpty())
        doc.warning = QStringLiteral("'%1' %2").arg(info.fileName(), decoded.warning);
    doc.text = normalizeLineEndings(std::move(decoded.text));
    if (onlyWhitespace(doc.text))
        refuse(path, QStringLiteral("is empty"));

    convert(doc);
    if (onlyWhitespace(doc.text))
        refuse(path, QStringLiteral("has no readable text"));
    if (doc.title.trimmed().isEmpty())
        doc.title = info.completeBaseName();
    return doc;
}

void TextReaderBase::convert(ImportedDocument& doc) const
{
    const TitleAuthor guess = guessTitleAuthor(doc.text);
    doc.title = guess.title;
    doc.author = guess.author;
    doc.chapters = detectChapters(doc.text);
}

}  // namespace mm::import
