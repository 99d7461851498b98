// Import a file into the library: read it with its format's reader, cut passages,
// store everything in one transaction. Safe to call from any thread with that thread's
// own Database.
#pragma once

#include "document_reader.h"
#include "storage/database.h"

#include <atomic>
#include <functional>

namespace mm::import {

/// Chapter detection for plain text: "CHAPTER IV", "BOOK II", "Chapter 3.", "PART ONE"
/// and similar heading lines standing alone between blank lines.
QVector<ImportedChapter> detectTextChapters(const QString& text);
/// Markdown ATX headings (#, ##) as chapters.
QVector<ImportedChapter> detectMarkdownChapters(const QString& text);

/// Passages of about minChars..maxChars code points on paragraph boundaries (sentence
/// or word boundaries inside paragraphs longer than maxChars). The passages tile the
/// text exactly (each starts where the previous ended) and never cross a chapter start.
/// Offsets are code points.
QVector<storage::PassageSpan> splitPassages(const QString& text,
                                            const QVector<ImportedChapter>& chapters,
                                            int minChars = 1000, int maxChars = 2000);

struct ImportOptions {
    QString collection;  ///< empty: none
    /// Called with a fraction in [0,1] and a stage name ("reading", "passages", "storing").
    std::function<void(double, const QString&)> progress;
    const std::atomic_bool* cancel = nullptr;  ///< checked between stages
};

struct ImportResult {
    qint64 docId = 0;
    QString title;
    qint64 characters = 0;
    int passages = 0;
    int chapters = 0;
    bool alreadyPresent = false;
};

/// Throws ImportError (bad input), ImportCancelled, or storage::StorageError.
ImportResult importFile(storage::Database& db, const QString& path, const ImportOptions& options = {});

}  // namespace mm::import
