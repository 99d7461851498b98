// TextReaderBase: everything text-like formats share (reading the bytes, hashing,
// refusing empty, binary and oversized files, decoding, line endings). A format only
// supplies convert(): title, author and chapters from the decoded text, as Okular's
// TextDocumentConverter does.
#pragma once

#include "storage/import/document_reader.h"

namespace mm::import {

class TextReaderBase : public DocumentReader {
public:
    /// Whole-file reads for now; a streaming importer will lift this.
    static constexpr qint64 kMaxFileBytes = 256LL * 1024 * 1024;

    int capabilities() const override { return Chapters | Metadata; }
    ImportedDocument read(const QString& path) const final;

protected:
    /// Fills doc.title, doc.author (may stay empty: the file name is used) and
    /// doc.chapters from doc.text.
    virtual void convert(ImportedDocument& doc) const = 0;
};

class PlainTextReader : public TextReaderBase {
public:
    QString format() const override { return QStringLiteral("txt"); }
    QStringList suffixes() const override { return {QStringLiteral("txt"), QStringLiteral("text")}; }

protected:
    void convert(ImportedDocument& doc) const override;
};

class MarkdownReader : public TextReaderBase {
public:
    QString format() const override { return QStringLiteral("md"); }
    QStringList suffixes() const override { return {QStringLiteral("md"), QStringLiteral("markdown")}; }

protected:
    void convert(ImportedDocument& doc) const override;
};

}  // namespace mm::import
