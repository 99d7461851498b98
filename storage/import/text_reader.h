// TextReaderBase: everything text-like formats share (reading the bytes, hashing,
// refusing empty, binary and oversized files, decoding, line endings). A format only
// supplies the conversion: title, author and chapters from the decoded text, as Okular's
// TextDocumentConverter does. Plain text and Markdown can also be streamed
// (streamed_text.h); HTML replaces the text by what its markup shows.
#pragma once

#include "storage/import/document_reader.h"
#include "storage/import/metadata.h"

namespace mm::import {

class TextReaderBase : public DocumentReader {
public:
    /// Whole-file reads; larger plain text and Markdown files are streamed.
    static constexpr qint64 kMaxFileBytes = 256LL * 1024 * 1024;
    /// Streamed files: bounded memory, so only the disk limits them; this cap keeps a
    /// mistaken import (a disk image renamed .txt) from filling the library.
    static constexpr qint64 kMaxStreamedBytes = 4LL * 1024 * 1024 * 1024;

    int capabilities() const override { return Chapters | Metadata; }
    ImportedDocument read(const QString& path) const final;
    /// The largest file read() takes whole.
    virtual qint64 maxWholeFileBytes() const { return kMaxFileBytes; }

    /// Title and author from the start of the text (empty: the file name is used).
    virtual TitleAuthor guessTitleAuthor(const QString& text) const = 0;
    /// Chapters of a text (or of one block of a streamed text).
    virtual QVector<ImportedChapter> detectChapters(const QString& text) const = 0;

protected:
    /// Fills doc.title, doc.author and doc.chapters from doc.text; a format may also
    /// replace doc.text (HTML). The default uses the two functions above.
    virtual void convert(ImportedDocument& doc) const;
};

class PlainTextReader : public TextReaderBase {
public:
    QString format() const override { return QStringLiteral("txt"); }
    QStringList suffixes() const override { return {QStringLiteral("txt"), QStringLiteral("text")}; }
    bool canStream() const override { return true; }
    TitleAuthor guessTitleAuthor(const QString& text) const override;
    QVector<ImportedChapter> detectChapters(const QString& text) const override;
};

class MarkdownReader : public TextReaderBase {
public:
    QString format() const override { return QStringLiteral("md"); }
    QStringList suffixes() const override { return {QStringLiteral("md"), QStringLiteral("markdown")}; }
    bool canStream() const override { return true; }
    TitleAuthor guessTitleAuthor(const QString& text) const override;
    QVector<ImportedChapter> detectChapters(const QString& text) const override;
};

/// HTML: the text a browser would show (scripts, styles and images dropped, entities
/// decoded, block elements as paragraphs), h1/h2 headings as chapters, <title> and
/// <meta name="author"> as metadata. See html_text.h.
class HtmlReader : public TextReaderBase {
public:
    QString format() const override { return QStringLiteral("html"); }
    QStringList suffixes() const override
    {
        return {QStringLiteral("html"), QStringLiteral("htm"), QStringLiteral("xhtml")};
    }
    TitleAuthor guessTitleAuthor(const QString& text) const override;
    QVector<ImportedChapter> detectChapters(const QString& text) const override;
    /// gumbo's tree takes several times the markup's size: HTML books are far smaller.
    qint64 maxWholeFileBytes() const override { return 64LL * 1024 * 1024; }

protected:
    void convert(ImportedDocument& doc) const override;
};

}  // namespace mm::import
