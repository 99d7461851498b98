// The library database: one SQLite file holding collections, documents, their text,
// chapters, passages (indexed by FTS5) and reading sessions.
//
// Knows nothing of the model: later model states and notes are stored as opaque blobs
// with a format version and a fingerprint. Every offset in this API is a count of
// Unicode code points into the document's stored text (what SQLite's substr() counts),
// never bytes or UTF-16 units; text_offsets.h converts to QString indices.
//
// A Database is one connection: use it from one thread at a time. Open one per thread
// (SQLite WAL lets readers and one writer work at once; writers wait up to the busy
// timeout). Every method throws StorageError with a message that names the problem;
// a failed write is rolled back whole, so nothing stored before it is lost.
#pragma once

#include <QByteArray>
#include <QString>
#include <QVector>

#include <memory>
#include <optional>
#include <stdexcept>

struct sqlite3;

namespace mm::storage {

namespace sql {
class StatementCache;
}

class StorageError : public std::runtime_error {
public:
    /// What went wrong underneath, so a caller can react (retry when Busy, tell the user
    /// to free space when DiskFull) without parsing the message, which names it too.
    enum class Cause {
        Other,     ///< bad input or a rule of the library (the message says which)
        DiskFull,  ///< SQLITE_FULL: no space left for the library or its journal
        IoError,   ///< SQLITE_IOERR_*: the disk failed a read, write or sync
        Busy,      ///< SQLITE_BUSY/LOCKED past the busy timeout: another program is writing
        ReadOnly,  ///< SQLITE_READONLY / SQLITE_PERM: the file or its folder is not writable
        Corrupt,   ///< SQLITE_CORRUPT / SQLITE_NOTADB: the file is damaged
    };
    using std::runtime_error::runtime_error;
    StorageError(const std::string& what, Cause cause) : std::runtime_error(what), m_cause(cause) {}
    Cause cause() const { return m_cause; }

private:
    Cause m_cause = Cause::Other;
};

struct CollectionRecord {
    qint64 id = 0;
    QString name;
    qint64 documentCount = 0;
};

struct ChapterRecord {
    int index = 0;          ///< 0-based order within the document
    QString title;
    qint64 charOffset = 0;  ///< code points from the start of the text
};

struct PassageSpan {
    qint64 charStart = 0;   ///< inclusive
    qint64 charEnd = 0;     ///< exclusive
    int chapterIndex = -1;  ///< chapter the passage lies in; -1 before the first chapter
    int page = 0;           ///< 1-based page the passage starts on (PDF); 0: no pages
};

struct PassageRecord {
    qint64 id = 0;
    qint64 docId = 0;
    int ordinal = 0;        ///< 0-based order within the document
    int chapterIndex = -1;
    qint64 charStart = 0;
    qint64 charEnd = 0;
    QString text;           ///< exactly documentText(docId, charStart, charEnd)
    int page = 0;           ///< 1-based page the passage starts on (PDF); 0: no pages
};

struct DocumentRecord {
    qint64 id = 0;
    qint64 collectionId = 0;  ///< 0 when in no collection
    QString contentHash;      ///< SHA-256 (hex) of the source file's bytes
    QString title;
    QString author;
    QString format;           ///< "txt", "md", ...
    QString sourcePath;
    qint64 bytes = 0;         ///< size of the source file
    qint64 characters = 0;    ///< code points of the stored text
    qint64 tokens = 0;        ///< 0 until the model has read it
    QString status;           ///< "imported", "reading" (memory partly read), "ready", "stale" (memory from another model: re-read), "failed"
    qint64 addedAtMs = 0;     ///< Unix time, milliseconds
};

/// What an importer hands to addDocument.
struct NewDocument {
    QString contentHash;
    QString title;
    QString author;
    QString format;
    QString sourcePath;
    qint64 bytes = 0;
    QString text;
    QVector<ChapterRecord> chapters;  ///< sorted by charOffset
    /// Sorted; they must tile the text exactly (each starts where the previous ended,
    /// the last ends at the end): the passages are the stored text. None: the whole
    /// text is stored as one passage.
    QVector<PassageSpan> passages;
    QString collection;               ///< created when missing; empty: no collection
};

struct SearchHit {
    qint64 passageId = 0;
    qint64 docId = 0;
    QString docTitle;
    int chapterIndex = -1;
    QString chapterTitle;
    qint64 charStart = 0;
    qint64 charEnd = 0;
    QString text;     ///< the whole passage
    QString snippet;  ///< a short excerpt with the matched terms in [brackets]
    double score = 0; ///< higher is better
    int page = 0;     ///< 1-based page the passage starts on (PDF); 0: no pages
};

struct SessionRecord {
    qint64 docId = 0;
    qint64 position = 0;     ///< reading position, code points
    qint64 updatedAtMs = 0;
    QByteArray uiState;      ///< opaque to storage (the reader's layout, selections, ...)
};

class Database {
public:
    /// Schema version this build writes; see the migration list in database.cpp.
    static constexpr int kSchemaVersion = 5;
    /// PRAGMA application_id of a MemMamba Reader library ('MMBR').
    static constexpr int kApplicationId = 0x4D4D4252;

    /// Opens (creating if needed) and migrates the library at path. Throws StorageError
    /// for a file that is not a MemMamba library, one written by a newer version, or a
    /// directory that cannot be created.
    explicit Database(const QString& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    QString path() const;
    int schemaVersion() const;

    // --- collections
    qint64 ensureCollection(const QString& name);
    QVector<CollectionRecord> collections() const;

    // --- documents
    struct AddResult {
        qint64 docId = 0;
        bool alreadyPresent = false;  ///< a document with the same content hash existed
    };
    /// Stores the document, its text, chapters and passages in one transaction.
    /// Idempotent by content hash: the second import of the same bytes returns the first
    /// document (and adds it to doc.collection if given).
    AddResult addDocument(const NewDocument& doc);
    std::optional<DocumentRecord> document(qint64 docId) const;
    std::optional<qint64> documentByHash(const QString& contentHash) const;
    /// All documents, or those of one collection (collectionId > 0), by title.
    QVector<DocumentRecord> documents(qint64 collectionId = -1) const;
    /// The stored text between code points [from, to); to < 0 means the end. Throws for a
    /// missing document or a range outside the text.
    QString documentText(qint64 docId, qint64 from = 0, qint64 to = -1) const;
    QVector<ChapterRecord> chapters(qint64 docId) const;
    QVector<PassageRecord> passages(qint64 docId) const;
    int passageCount(qint64 docId) const;
    void setDocumentStatus(qint64 docId, const QString& status);
    void setDocumentTokens(qint64 docId, qint64 tokens);
    /// Removes the document and everything that belongs to it.
    void removeDocument(qint64 docId);
    /// Documents of a collection whose source_path is path (folder import replaces them).
    QVector<qint64> documentsAtPath(qint64 collectionId, const QString& sourcePath) const;

    // --- full-text search (FTS5 over passages)
    /// Free text from a user: never an FTS5 syntax error. Passages holding the query as
    /// a phrase rank first, then those holding all its words (bm25).
    QVector<SearchHit> search(const QString& query, int limit = 20, qint64 docId = -1) const;

    // --- reading sessions
    void saveSession(const SessionRecord& session);
    std::optional<SessionRecord> session(qint64 docId) const;
    /// The most recently updated session ("Continue reading").
    std::optional<SessionRecord> lastSession() const;

    /// PRAGMA integrity_check; returns "ok" or the first problems.
    QString integrityCheck() const;

    /// The raw handle, for storage's own modules (migrations, blobs) and tests.
    sqlite3* handle() const;
    /// This connection's kept prepared statements (sqlite_util.h; storage's own modules).
    sql::StatementCache& statements() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

/// Stores one document piece by piece inside one write transaction, for importers that
/// stream (a 500 MB text never exists whole in memory): the header first, then chapters
/// and passages in text order; commit() makes it visible at once, and destroying the
/// writer uncommitted (any exception) rolls everything back. Offsets are computed here:
/// each passage starts where the previous ended. Only one writer (or other write) at a
/// time per Database.
class DocumentWriter {
public:
    struct Header {
        QString contentHash;
        QString title;
        QString author;
        QString format;
        QString sourcePath;
        qint64 bytes = 0;
        QString collection;  ///< created when missing; empty: no collection
    };
    /// Begins the transaction. When a document with this hash exists, alreadyPresent()
    /// is true, nothing may be added, and commit() only files it in the collection.
    DocumentWriter(Database& db, const Header& header);
    ~DocumentWriter();
    DocumentWriter(const DocumentWriter&) = delete;
    DocumentWriter& operator=(const DocumentWriter&) = delete;

    bool alreadyPresent() const;
    qint64 docId() const;
    /// Code points stored so far (the offset the next passage starts at).
    qint64 characters() const;
    /// Chapters in order; charOffset may lie ahead of the passages stored so far.
    void addChapter(const QString& title, qint64 charOffset);
    /// The next passage of the text; returns its [start, end) in code points.
    PassageSpan addPassage(const QString& text, int chapterIndex, int page = 0);
    Database::AddResult commit();

private:
    struct Impl;
    std::unique_ptr<Impl> d;
};

/// While it lives, the connection's reads share one read transaction: one snapshot and one
/// lock instead of one per statement (a question runs a few hundred statements; each would
/// take and drop the file lock). Nothing if a transaction is already open on the connection.
/// Writes inside it upgrade it as SQLite does; it ends with COMMIT.
class ReadSnapshot {
public:
    explicit ReadSnapshot(const Database& db);
    ~ReadSnapshot();
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;

private:
    sqlite3* m_db;
    bool m_began = false;
};

/// Default library location: QStandardPaths::AppDataLocation/library.sqlite3.
QString defaultDatabasePath();

}  // namespace mm::storage
