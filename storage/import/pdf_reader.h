// PDF through Qt PDF (pdfium): text per page (pages joined by a blank line, the start of
// each kept in ImportedDocument::pageStarts so every passage knows its page), chapters
// from the outline (bookmarks), title and author from the document information.
// Protected (password), damaged and truncated files are refused with their own messages.
//
// Lives in its own library (mm_import_pdf): Qt6::Pdf needs Qt Gui, and mm_storage stays
// Core-only. QPdfDocument works without a QGuiApplication (text extraction renders
// nothing), so the CLI's QCoreApplication and offscreen tests both use it.
#pragma once

#include "storage/import/document_reader.h"

namespace mm::import {

class PdfReader : public DocumentReader {
public:
    static constexpr qint64 kMaxFileBytes = 1024LL * 1024 * 1024;
    /// Pages beyond this are refused rather than read: no book has them, a hostile file may.
    static constexpr int kMaxPages = 100000;

    QString format() const override { return QStringLiteral("pdf"); }
    QStringList suffixes() const override { return {QStringLiteral("pdf")}; }
    int capabilities() const override { return Chapters | Metadata | Pages; }
    ImportedDocument read(const QString& path) const override;
};

/// Page text as the reader stores it: LF line ends, no control characters, no trailing
/// blanks on a line, paragraphs marked (markParagraphs).
QString cleanPdfPageText(const QString& raw);

/// A blank line after every line shorter than 70% of the page's median line (a
/// paragraph's last line or a heading); pages of fewer than 5 lines stay as they are.
QString markParagraphs(const QString& page);

}  // namespace mm::import
