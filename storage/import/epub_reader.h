// EPUB 2 and 3: the zip container (zip_archive.h, with its bomb and traversal limits),
// META-INF/container.xml -> the package document (OPF: title, author, manifest, spine),
// the spine's XHTML documents in order as text (html_text.h), chapters from the EPUB 3
// navigation document or else the EPUB 2 NCX, else each document's first heading.
// Only entries the spine and table of contents name are read; nothing touches the disk.
#pragma once

#include "storage/import/document_reader.h"

#include <QByteArray>

namespace mm::import {

class EpubReader : public DocumentReader {
public:
    /// EPUB files larger than this are refused before they are read into memory.
    static constexpr qint64 kMaxFileBytes = 256LL * 1024 * 1024;

    QString format() const override { return QStringLiteral("epub"); }
    QStringList suffixes() const override { return {QStringLiteral("epub")}; }
    int capabilities() const override { return Chapters | Metadata; }
    ImportedDocument read(const QString& path) const override;
};

/// The EPUB in bytes (tests, fuzzing); fileName names it in messages and is the title
/// when the package has none. Fills everything but sourcePath, contentHash and bytes.
ImportedDocument readEpubBytes(const QByteArray& bytes, const QString& fileName);

}  // namespace mm::import
