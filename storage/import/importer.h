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
    /// Plain text and Markdown files larger than this are streamed: decoded, cut and
    /// stored in batches in bounded memory (tests lower it to stream small files).
    qint64 streamAboveBytes = 32LL * 1024 * 1024;
};

struct ImportResult {
    qint64 docId = 0;
    QString title;
    qint64 characters = 0;
    int passages = 0;
    int chapters = 0;
    bool alreadyPresent = false;
    QString warning;  ///< empty, or a one-line note naming the file (see ImportedDocument)
};

/// Throws ImportError (bad input), ImportCancelled, or storage::StorageError.
ImportResult importFile(storage::Database& db, const QString& path, const ImportOptions& options = {});

/// Which page each passage starts on, from ImportedDocument::pageStarts (UTF-16) and
/// the text; passages keep page 0 when there are no pages.
void assignPages(QVector<storage::PassageSpan>& passages, const QString& text, const QVector<qint64>& pageStarts);

/// One file of a folder import.
struct FolderImportEntry {
    enum class Outcome { Imported, Unchanged, Replaced, Failed };
    QString path;
    Outcome outcome = Outcome::Failed;
    ImportResult result;  ///< for Imported, Replaced and Unchanged
    QString error;        ///< for Failed: the one-line message
};

/// Imports every supported file under dir (recursively, in path order) into the
/// collection options.collection (the folder's name when empty). Incremental: a file
/// whose content hash is already in that collection is Unchanged and not read again; a
/// file with new bytes at a path the collection already holds replaces that document
/// (Replaced) once the new one is stored. A failing file does not stop the others.
/// Progress: the fraction is the whole folder's, the stage names the file ("sub/b.epub: reading").
/// Throws ImportError when dir is not a readable folder.
QVector<FolderImportEntry> importFolder(storage::Database& db, const QString& dir, const ImportOptions& options = {});

/// SHA-256 (hex) of a file's bytes, read in 1 MB pieces: the content hash of the library.
QString fileContentHash(const QString& path);

}  // namespace mm::import
