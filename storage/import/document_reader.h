// Importers: one DocumentReader per format, found by the ReaderRegistry from a file's
// suffix (and content sniffing), each turning a file into an ImportedDocument (text,
// metadata, chapters). Text-like formats share TextReaderBase and only supply the
// conversion, as Okular's text generators do. EPUB, HTML and PDF readers live in their
// own files (epub_reader, html_reader, pdf_reader); docs/formats.md maps each format.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

#include <stdexcept>

namespace mm::import {

/// A file that cannot be imported; the message names the file and the problem
/// ("'x.txt' is empty", "'x.txt' looks like a binary file (NUL bytes at offset 12)").
class ImportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Thrown when ImportOptions::cancel was set; nothing was stored.
class ImportCancelled : public std::runtime_error {
public:
    ImportCancelled() : std::runtime_error("import cancelled") {}
};

struct ImportedChapter {
    QString title;
    qint64 utf16Offset = 0;  ///< index into ImportedDocument::text (QString units)
};

struct ImportedDocument {
    QString format;       ///< "txt", "md", "html", "epub", "pdf"
    QString title;        ///< from the content, else the file name
    QString author;       ///< empty when unknown
    QString sourcePath;   ///< absolute path
    QString contentHash;  ///< SHA-256 hex of the file's bytes
    qint64 bytes = 0;
    QString encoding;     ///< "UTF-8" or "windows-1252" (text-like formats)
    QString text;         ///< normalised to LF line endings, no BOM
    QVector<ImportedChapter> chapters;
    /// Paged formats (PDF): UTF-16 index in text where page i+1 starts, ascending, the
    /// first 0. Empty for formats without pages.
    QVector<qint64> pageStarts;
    /// Empty, or a one-line note for the user about a lossy step ("'x.txt' is mostly
    /// UTF-8 but has 3 invalid bytes ...").
    QString warning;
};

enum ReaderCapability {
    Chapters = 0x1,   ///< finds chapters
    Metadata = 0x2,   ///< finds title/author
    Pages = 0x4,      ///< keeps page numbers
    Password = 0x8,   ///< can open protected files
};

class DocumentReader {
public:
    virtual ~DocumentReader() = default;
    virtual QString format() const = 0;
    virtual QStringList suffixes() const = 0;  ///< lower case, no dot
    virtual int capabilities() const = 0;
    /// Reads the file; throws ImportError with a specific message.
    virtual ImportedDocument read(const QString& path) const = 0;
    /// Streamed formats (large plain text) are imported piece by piece by the importer
    /// instead of through read(); see streamed_text.h.
    virtual bool canStream() const { return false; }
};

class ReaderRegistry {
public:
    static const ReaderRegistry& instance();
    /// The reader for this file, or nullptr when no reader handles its suffix.
    const DocumentReader* readerFor(const QString& path) const;
    /// The reader for this file after looking at its first bytes: throws ImportError
    /// for an unsupported suffix, and for contents that contradict the suffix ("'x.txt'
    /// is really a PDF document ..."), so no reader sees bytes of another format.
    const DocumentReader* readerForContent(const QString& path) const;
    QVector<const DocumentReader*> readers() const;
    QStringList supportedSuffixes() const;

private:
    ReaderRegistry();
    QVector<const DocumentReader*> m_readers;
};

}  // namespace mm::import
