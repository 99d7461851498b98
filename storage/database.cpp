#include "storage/database.h"

#include "storage/schema.h"
#include "storage/sqlite_util.h"
#include "storage/text_offsets.h"

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QSet>
#include <QStandardPaths>
#include <QThread>

#include <sqlite3.h>

#include <algorithm>
#include <limits>

namespace mm::storage {

using sql::Statement;
using sql::WriteTransaction;

namespace {

constexpr int kBusyTimeoutMs = 10000;

// ---- SQL ---------------------------------------------------------------------------

constexpr const char* kCollectionInsertSql = "INSERT OR IGNORE INTO collections(name, created_at) VALUES (?1, ?2)";
constexpr const char* kCollectionIdSql = "SELECT id FROM collections WHERE name = ?1";
constexpr const char* kCollectionsSql = R"SQL(
SELECT c.id, c.name, count(d.id)
FROM collections c LEFT JOIN documents d ON d.collection_id = c.id
GROUP BY c.id ORDER BY c.name COLLATE NOCASE)SQL";

constexpr const char* kDocumentByIdSql = R"SQL(
SELECT id, coalesce(collection_id, 0), content_hash, title, author, format, source_path,
       bytes, characters, tokens, status, added_at
FROM documents WHERE id = ?1)SQL";
constexpr const char* kDocumentsSql = R"SQL(
SELECT id, coalesce(collection_id, 0), content_hash, title, author, format, source_path,
       bytes, characters, tokens, status, added_at
FROM documents WHERE ?1 <= 0 OR collection_id = ?1
ORDER BY title COLLATE NOCASE, id)SQL";
constexpr const char* kDocumentByHashSql = "SELECT id FROM documents WHERE content_hash = ?1";
constexpr const char* kDocumentInsertSql = R"SQL(
INSERT INTO documents(collection_id, content_hash, title, author, format, source_path,
                      bytes, characters, tokens, status, added_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 'imported', ?9))SQL";
constexpr const char* kDocumentSetCollectionSql = "UPDATE documents SET collection_id = ?2 WHERE id = ?1";
constexpr const char* kDocumentSetStatusSql = "UPDATE documents SET status = ?2 WHERE id = ?1";
constexpr const char* kDocumentSetTokensSql = "UPDATE documents SET tokens = ?2 WHERE id = ?1";
constexpr const char* kDocumentDeleteSql = "DELETE FROM documents WHERE id = ?1";

constexpr const char* kDocumentLengthSql = "SELECT characters FROM documents WHERE id = ?1";
constexpr const char* kDocumentSetCharactersSql = "UPDATE documents SET characters = ?2 WHERE id = ?1";
constexpr const char* kDocumentsAtPathSql =
    "SELECT id FROM documents WHERE collection_id = ?1 AND source_path = ?2 ORDER BY id";
// The passages tile the text, so a range is the passages that overlap it: from the one
// holding ?2 (the last starting at or before it) up to the last starting before ?3.
constexpr const char* kTextRangeSql = R"SQL(
SELECT char_start, text FROM passages
WHERE doc_id = ?1 AND char_start < ?3
  AND char_start >= (SELECT coalesce(max(char_start), 0) FROM passages WHERE doc_id = ?1 AND char_start <= ?2)
ORDER BY char_start)SQL";

constexpr const char* kChapterInsertSql =
    "INSERT INTO chapters(doc_id, ordinal, title, char_offset) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kChaptersSql =
    "SELECT ordinal, title, char_offset FROM chapters WHERE doc_id = ?1 ORDER BY ordinal";

constexpr const char* kPassageInsertSql = R"SQL(
INSERT INTO passages(doc_id, ordinal, chapter_ordinal, char_start, char_end, text, page)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))SQL";
constexpr const char* kPassagesSql = R"SQL(
SELECT id, doc_id, ordinal, chapter_ordinal, char_start, char_end, text, coalesce(page, 0)
FROM passages WHERE doc_id = ?1 ORDER BY ordinal)SQL";

// ?1: an FTS5 query built by ftsPhraseQuery/ftsAllWordsQuery, never raw user text.
constexpr const char* kSearchSql = R"SQL(
SELECT p.id, p.doc_id, d.title, p.chapter_ordinal, coalesce(c.title, ''),
       p.char_start, p.char_end, p.text,
       snippet(passages_fts, 0, '[', ']', '…', 16), bm25(passages_fts), coalesce(p.page, 0)
FROM passages_fts
JOIN passages p ON p.id = passages_fts.rowid
JOIN documents d ON d.id = p.doc_id
LEFT JOIN chapters c ON c.doc_id = p.doc_id AND c.ordinal = p.chapter_ordinal
WHERE passages_fts MATCH ?1 AND (?2 <= 0 OR p.doc_id = ?2)
ORDER BY bm25(passages_fts), p.id
LIMIT ?3)SQL";

constexpr const char* kSessionUpsertSql = R"SQL(
INSERT INTO sessions(doc_id, position, updated_at, ui_state) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT(doc_id) DO UPDATE SET position = excluded.position,
    updated_at = excluded.updated_at, ui_state = excluded.ui_state)SQL";
constexpr const char* kSessionSql =
    "SELECT doc_id, position, updated_at, ui_state FROM sessions WHERE doc_id = ?1";
constexpr const char* kLastSessionSql =
    "SELECT doc_id, position, updated_at, ui_state FROM sessions ORDER BY updated_at DESC, doc_id DESC LIMIT 1";

constexpr const char* kIdentifySql =
    "SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version), "
    "(SELECT count(*) FROM sqlite_master)";

constexpr const char* kFtsIntegritySql = "INSERT INTO passages_fts(passages_fts, rank) VALUES ('integrity-check', 1)";

// ---- helpers -----------------------------------------------------------------------

std::string message(const QString& text)
{
    return text.toStdString();
}

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

/// Code points in a UTF-16 string: a surrogate pair counts once.
qint64 codePointsIn(const QString& text)
{
    qint64 pairs = 0;
    for (QChar c : text)
        if (c.isHighSurrogate())
            ++pairs;
    return text.size() - pairs;
}

qint64 ensureCollectionIn(sqlite3* db, const QString& name)
{
    const QString trimmed = name.trimmed();
    if (trimmed.isEmpty())
        throw StorageError("a collection needs a name");
    Statement(db, kCollectionInsertSql).bind(1, trimmed).bind(2, nowMs()).run();
    Statement select(db, kCollectionIdSql);
    select.bind(1, trimmed);
    if (!select.step())
        throw StorageError(message(QStringLiteral("collection '%1' vanished while being created").arg(trimmed)));
    return select.int64(0);
}

DocumentRecord readDocument(const Statement& s)
{
    DocumentRecord r;
    r.id = s.int64(0);
    r.collectionId = s.int64(1);
    r.contentHash = s.text(2);
    r.title = s.text(3);
    r.author = s.text(4);
    r.format = s.text(5);
    r.sourcePath = s.text(6);
    r.bytes = s.int64(7);
    r.characters = s.int64(8);
    r.tokens = s.int64(9);
    r.status = s.text(10);
    r.addedAtMs = s.int64(11);
    return r;
}

SessionRecord readSession(const Statement& s)
{
    SessionRecord r;
    r.docId = s.int64(0);
    r.position = s.int64(1);
    r.updatedAtMs = s.int64(2);
    r.uiState = s.blob(3);
    return r;
}

/// The words of free user text, each quoted as an FTS5 string, so operators ("AND",
/// "NEAR("), stars and stray quotes are searched as plain words or dropped, never parsed.
/// Splits where unicode61 would, on anything not a letter or digit.
QStringList quotedTerms(const QString& query)
{
    QStringList terms;
    QString current;
    auto flush = [&] {
        if (!current.isEmpty())
            terms << current;
        current.clear();
    };
    for (QChar ch : query) {
        if (ch.isLetterOrNumber() || ch.isMark() || ch.isSurrogate())
            current += ch;
        else
            flush();
    }
    flush();
    return terms;
}

QString ftsPhraseQuery(const QStringList& terms)
{
    return QLatin1Char('"') + terms.join(QLatin1Char(' ')) + QLatin1Char('"');
}

QString ftsAllWordsQuery(const QStringList& terms)
{
    QStringList quoted;
    for (const QString& t : terms)
        quoted << QLatin1Char('"') + t + QLatin1Char('"');
    return quoted.join(QLatin1Char(' '));
}

bool looksLikeSqlite(const QString& path, QString* problem)
{
    QFile file(path);
    if (!file.exists() || file.size() == 0)
        return true;  // SQLite makes a new database here
    if (!file.open(QIODevice::ReadOnly)) {
        *problem = QStringLiteral("cannot open the library '%1': %2").arg(path, file.errorString());
        return false;
    }
    static const QByteArray kMagic("SQLite format 3\0", 16);
    if (file.read(16) != kMagic) {
        *problem = QStringLiteral("'%1' is not a MemMamba library: it is not an SQLite database").arg(path);
        return false;
    }
    return true;
}

/// Sets journal_mode=WAL and returns the mode now in force. Changing the journal mode
/// of a new file that another process is opening at the same moment can answer
/// SQLITE_BUSY without consulting the busy handler, so this retries until the busy
/// timeout has passed.
QString switchToWal(sqlite3* db)
{
    QElapsedTimer timer;
    timer.start();
    for (;;) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr);
        QString mode;
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(stmt);
            if (rc == SQLITE_ROW)
                mode = QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
        }
        sqlite3_finalize(stmt);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            return mode;
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            sql::fail(db, QStringLiteral("cannot switch the library to WAL mode"));
        if (timer.elapsed() > kBusyTimeoutMs)
            sql::fail(db, QStringLiteral("cannot switch the library to WAL mode within %1 s").arg(kBusyTimeoutMs / 1000));
        QThread::msleep(20);
    }
}

}  // namespace

// ---- Database ----------------------------------------------------------------------

struct Database::Impl {
    QString path;
    sqlite3* db = nullptr;
    int schemaVersion = 0;
    std::unique_ptr<sql::StatementCache> statements;

    ~Impl()
    {
        statements.reset();  // its statements are finalized before the connection closes
        sqlite3_close_v2(db);
    }

    qint64 ensureCollection(const QString& name) { return ensureCollectionIn(db, name); }

    void requireChange(qint64 docId)
    {
        if (sqlite3_changes64(db) == 0)
            throw StorageError(message(QStringLiteral("no document with id %1").arg(docId)));
    }
};

Database::Database(const QString& path) : d(std::make_unique<Impl>())
{
    d->path = QFileInfo(path).absoluteFilePath();
    const QFileInfo info(d->path);
    if (!QDir().mkpath(info.absolutePath()))
        throw StorageError(message(QStringLiteral("cannot create the folder '%1' for the library").arg(info.absolutePath())));
    if (info.isDir())
        throw StorageError(message(QStringLiteral("cannot open the library '%1': it is a folder").arg(d->path)));

    QString problem;
    if (!looksLikeSqlite(d->path, &problem))
        throw StorageError(message(problem));

    const QByteArray nativePath = QFile::encodeName(d->path);
    if (sqlite3_open_v2(nativePath.constData(), &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
        sql::fail(d->db, QStringLiteral("cannot open the library '%1'").arg(d->path));
    sqlite3_extended_result_codes(d->db, 1);
    sqlite3_busy_timeout(d->db, kBusyTimeoutMs);
    d->statements = std::make_unique<sql::StatementCache>(d->db);

    // Identify the file before writing anything to it: a foreign or newer file is left
    // exactly as it was.
    qint64 applicationId = 0;
    qint64 fileVersion = 0;
    qint64 objects = 0;
    try {
        // One statement, so one snapshot: another process may be creating the schema
        // right now, and its commit must not fall between these reads.
        Statement s(d->db, kIdentifySql);
        if (s.step()) {
            applicationId = s.int64(0);
            fileVersion = s.int64(1);
            objects = s.int64(2);
        }
    } catch (const StorageError& e) {
        // A busy, unreadable or full disk is no verdict on the file: keep that message.
        if (e.cause() != StorageError::Cause::Other && e.cause() != StorageError::Cause::Corrupt)
            throw;
        throw StorageError(message(QStringLiteral("'%1' is not a MemMamba library: %2").arg(d->path, QString::fromStdString(e.what()))),
                           e.cause());
    }
    if (applicationId != 0 && applicationId != kApplicationId)
        throw StorageError(message(QStringLiteral("'%1' is not a MemMamba library: it belongs to another application (application_id 0x%2)")
                                       .arg(d->path).arg(quint32(applicationId), 8, 16, QLatin1Char('0'))));
    if (applicationId == 0 && objects > 0)
        throw StorageError(message(QStringLiteral("'%1' is not a MemMamba library: it is an SQLite database of another application").arg(d->path)));
    if (fileVersion > kSchemaVersion)
        throw StorageError(message(QStringLiteral("the library '%1' has schema version %2, newer than this app's version %3; please upgrade MemMamba Reader to open it")
                                       .arg(d->path).arg(fileVersion).arg(kSchemaVersion)));

    const QString mode = switchToWal(d->db);
    if (mode.compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        throw StorageError(message(QStringLiteral("cannot switch the library '%1' to WAL mode (journal mode is '%2')").arg(d->path, mode)));
    sql::exec(d->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;", "cannot configure the library");
    // A question reads a few thousand pages of the sentence index (FTS5 posting lists, the
    // sentences): with SQLite's default 2 MB page cache every question reads them again
    // through pread (76,000 calls over the dev set, 2,200 with 64 MB), which costs 2-4x the
    // whole answer on a machine whose system calls are slow (the GPU hosts, docs/results.md
    // "Answers"). The file is not mapped (mmap_size): an I/O error or a file truncated by
    // another process would then be a SIGBUS, not an error message.
    sql::exec(d->db, "PRAGMA cache_size = -65536;", "cannot configure the library");

    migrate(d->db, migrationSteps(), kApplicationId);
    d->schemaVersion = int(sql::queryInt(d->db, "PRAGMA user_version"));
}

Database::~Database() = default;

QString Database::path() const
{
    return d->path;
}

int Database::schemaVersion() const
{
    return d->schemaVersion;
}

ReadSnapshot::ReadSnapshot(const Database& db) : m_db(db.handle())
{
    if (sqlite3_get_autocommit(m_db) != 0)
        m_began = sqlite3_exec(m_db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
}

ReadSnapshot::~ReadSnapshot()
{
    if (m_began && sqlite3_get_autocommit(m_db) == 0)
        sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr);
}

sqlite3* Database::handle() const
{
    return d->db;
}

sql::StatementCache& Database::statements() const
{
    return *d->statements;
}

// ---- collections

qint64 Database::ensureCollection(const QString& name)
{
    WriteTransaction transaction(d->db);
    const qint64 id = d->ensureCollection(name);
    transaction.commit();
    return id;
}

QVector<CollectionRecord> Database::collections() const
{
    QVector<CollectionRecord> result;
    Statement s(d->db, kCollectionsSql);
    while (s.step())
        result.push_back({s.int64(0), s.text(1), s.int64(2)});
    return result;
}

// ---- documents

static void validateNewDocument(const NewDocument& doc, qint64 characters)
{
    if (doc.contentHash.isEmpty())
        throw StorageError("cannot add a document without a content hash");
    qint64 previous = 0;
    for (const ChapterRecord& c : doc.chapters) {
        if (c.charOffset < previous || c.charOffset > characters)
            throw StorageError(message(QStringLiteral("chapter '%1' has offset %2, outside the text or out of order")
                                           .arg(c.title).arg(c.charOffset)));
        previous = c.charOffset;
    }
    previous = 0;
    for (const PassageSpan& p : doc.passages) {
        if (p.charStart < previous || p.charEnd < p.charStart || p.charEnd > characters)
            throw StorageError(message(QStringLiteral("passage [%1, %2) overlaps another or lies outside the text of %3 characters")
                                           .arg(p.charStart).arg(p.charEnd).arg(characters)));
        // Since schema version 2 the passages are the stored text: a gap would lose it.
        if (p.charStart != previous)
            throw StorageError(message(QStringLiteral("passage [%1, %2) leaves the text [%3, %1) in no passage")
                                           .arg(p.charStart).arg(p.charEnd).arg(previous)));
        if (p.chapterIndex < -1 || p.chapterIndex >= doc.chapters.size())
            throw StorageError(message(QStringLiteral("passage [%1, %2) names chapter %3, which does not exist")
                                           .arg(p.charStart).arg(p.charEnd).arg(p.chapterIndex)));
        previous = p.charEnd;
    }
    if (!doc.passages.isEmpty() && previous != characters)
        throw StorageError(message(QStringLiteral("the passages end at %1 but the text has %2 characters")
                                       .arg(previous).arg(characters)));
}

Database::AddResult Database::addDocument(const NewDocument& doc)
{
    const CodePointIndex index(doc.text);
    validateNewDocument(doc, index.codePointCount());

    DocumentWriter writer(*this, {doc.contentHash, doc.title, doc.author, doc.format, doc.sourcePath,
                                  doc.bytes, doc.collection});
    if (writer.alreadyPresent())
        return writer.commit();
    for (const ChapterRecord& c : doc.chapters)
        writer.addChapter(c.title, c.charOffset);
    if (doc.passages.isEmpty() && !doc.text.isEmpty())
        writer.addPassage(doc.text, doc.chapters.isEmpty() ? -1 : 0);
    for (const PassageSpan& p : doc.passages) {
        const qint64 from = index.toUtf16(p.charStart);
        const qint64 to = index.toUtf16(p.charEnd);
        writer.addPassage(doc.text.mid(from, to - from), p.chapterIndex, p.page);
    }
    return writer.commit();
}

// ---- DocumentWriter

struct DocumentWriter::Impl {
    sqlite3* db;
    WriteTransaction transaction;
    qint64 docId = 0;
    qint64 collectionId = 0;
    bool alreadyPresent = false;
    bool committed = false;
    qint64 characters = 0;
    int passageCount = 0;
    QVector<qint64> chapterOffsets;
    Statement chapterInsert;
    Statement passageInsert;

    explicit Impl(sqlite3* handle)
        : db(handle), transaction(handle), chapterInsert(handle, kChapterInsertSql),
          passageInsert(handle, kPassageInsertSql)
    {
    }

    void requireOpen() const
    {
        if (alreadyPresent || committed)
            throw StorageError("cannot add to a document that is already stored");
    }
};

DocumentWriter::DocumentWriter(Database& db, const Header& header) : d(std::make_unique<Impl>(db.handle()))
{
    if (header.contentHash.isEmpty())
        throw StorageError("cannot add a document without a content hash");
    d->collectionId = header.collection.trimmed().isEmpty() ? 0 : ensureCollectionIn(d->db, header.collection);

    Statement existing(d->db, kDocumentByHashSql);
    existing.bind(1, header.contentHash);
    if (existing.step()) {
        d->docId = existing.int64(0);
        d->alreadyPresent = true;
        return;
    }
    Statement insert(d->db, kDocumentInsertSql);
    if (d->collectionId > 0)
        insert.bind(1, d->collectionId);
    else
        insert.bindNull(1);
    // characters is set by commit(), when the whole text has passed through.
    insert.bind(2, header.contentHash).bind(3, header.title).bind(4, header.author).bind(5, header.format)
        .bind(6, header.sourcePath).bind(7, header.bytes).bind(8, qint64(0)).bind(9, nowMs());
    insert.run();
    d->docId = sqlite3_last_insert_rowid(d->db);
}

DocumentWriter::~DocumentWriter() = default;

bool DocumentWriter::alreadyPresent() const
{
    return d->alreadyPresent;
}

qint64 DocumentWriter::docId() const
{
    return d->docId;
}

qint64 DocumentWriter::characters() const
{
    return d->characters;
}

void DocumentWriter::addChapter(const QString& title, qint64 charOffset)
{
    d->requireOpen();
    if (charOffset < 0 || (!d->chapterOffsets.isEmpty() && charOffset < d->chapterOffsets.last()))
        throw StorageError(message(QStringLiteral("chapter '%1' has offset %2, out of order").arg(title).arg(charOffset)));
    const int ordinal = d->chapterOffsets.size();
    d->chapterInsert.bind(1, d->docId).bind(2, ordinal).bind(3, title).bind(4, charOffset);
    d->chapterInsert.run();
    d->chapterInsert.reset();
    d->chapterOffsets.push_back(charOffset);
}

PassageSpan DocumentWriter::addPassage(const QString& text, int chapterIndex, int page)
{
    d->requireOpen();
    if (chapterIndex < -1 || chapterIndex >= d->chapterOffsets.size())
        throw StorageError(message(QStringLiteral("passage %1 names chapter %2, which does not exist")
                                       .arg(d->passageCount).arg(chapterIndex)));
    PassageSpan span;
    span.charStart = d->characters;
    span.charEnd = d->characters + codePointsIn(text);
    span.chapterIndex = chapterIndex;
    span.page = page;
    d->passageInsert.bind(1, d->docId).bind(2, d->passageCount).bind(3, chapterIndex)
        .bind(4, span.charStart).bind(5, span.charEnd).bind(6, text);
    if (page > 0)
        d->passageInsert.bind(7, page);
    else
        d->passageInsert.bindNull(7);
    d->passageInsert.run();
    d->passageInsert.reset();
    ++d->passageCount;
    d->characters = span.charEnd;
    return span;
}

Database::AddResult DocumentWriter::commit()
{
    if (d->committed)
        throw StorageError("the document was already committed");
    if (d->alreadyPresent) {
        if (d->collectionId > 0)
            Statement(d->db, kDocumentSetCollectionSql).bind(1, d->docId).bind(2, d->collectionId).run();
    } else {
        if (!d->chapterOffsets.isEmpty() && d->chapterOffsets.last() > d->characters)
            throw StorageError(message(QStringLiteral("a chapter starts at %1, after the end of the text (%2 characters)")
                                           .arg(d->chapterOffsets.last()).arg(d->characters)));
        Statement(d->db, kDocumentSetCharactersSql).bind(1, d->docId).bind(2, d->characters).run();
    }
    d->transaction.commit();
    d->committed = true;
    return {d->docId, d->alreadyPresent};
}

std::optional<DocumentRecord> Database::document(qint64 docId) const
{
    Statement s(d->db, kDocumentByIdSql);
    s.bind(1, docId);
    if (!s.step())
        return std::nullopt;
    return readDocument(s);
}

std::optional<qint64> Database::documentByHash(const QString& contentHash) const
{
    Statement s(d->db, kDocumentByHashSql);
    s.bind(1, contentHash);
    if (!s.step())
        return std::nullopt;
    return s.int64(0);
}

QVector<DocumentRecord> Database::documents(qint64 collectionId) const
{
    QVector<DocumentRecord> result;
    Statement s(d->db, kDocumentsSql);
    s.bind(1, collectionId);
    while (s.step())
        result.push_back(readDocument(s));
    return result;
}

QString Database::documentText(qint64 docId, qint64 from, qint64 to) const
{
    Statement length(*d->statements, kDocumentLengthSql);
    length.bind(1, docId);
    if (!length.step())
        throw StorageError(message(QStringLiteral("no document with id %1").arg(docId)));
    const qint64 characters = length.int64(0);
    const qint64 end = to < 0 ? characters : to;
    if (from < 0 || from > end || end > characters)
        throw StorageError(message(QStringLiteral("range [%1, %2) lies outside document %3 of %4 characters")
                                       .arg(from).arg(to).arg(docId).arg(characters)));
    if (from == end)
        return {};

    // The passages tile the text: join those overlapping the range, then cut it out.
    Statement s(*d->statements, kTextRangeSql);
    s.bind(1, docId).bind(2, from).bind(3, end);
    QString joined;
    qint64 joinedStart = -1;
    while (s.step()) {
        if (joinedStart < 0)
            joinedStart = s.int64(0);
        joined += s.text(1);
    }
    const CodePointIndex index(joined);
    const qint64 cutFrom = index.toUtf16(from - std::max<qint64>(joinedStart, 0));
    const qint64 cutTo = index.toUtf16(end - std::max<qint64>(joinedStart, 0));
    if (joinedStart < 0 || joinedStart > from || index.codePointCount() < end - joinedStart)
        throw StorageError(message(QStringLiteral("document %1 has no stored text for [%2, %3)").arg(docId).arg(from).arg(end)));
    return joined.mid(cutFrom, cutTo - cutFrom);
}

QVector<qint64> Database::documentsAtPath(qint64 collectionId, const QString& sourcePath) const
{
    QVector<qint64> ids;
    Statement s(d->db, kDocumentsAtPathSql);
    s.bind(1, collectionId).bind(2, sourcePath);
    while (s.step())
        ids.push_back(s.int64(0));
    return ids;
}

QVector<ChapterRecord> Database::chapters(qint64 docId) const
{
    QVector<ChapterRecord> result;
    Statement s(d->db, kChaptersSql);
    s.bind(1, docId);
    while (s.step())
        result.push_back({int(s.int64(0)), s.text(1), s.int64(2)});
    return result;
}

QVector<PassageRecord> Database::passages(qint64 docId) const
{
    QVector<PassageRecord> result;
    Statement s(d->db, kPassagesSql);
    s.bind(1, docId);
    while (s.step()) {
        PassageRecord p;
        p.id = s.int64(0);
        p.docId = s.int64(1);
        p.ordinal = int(s.int64(2));
        p.chapterIndex = int(s.int64(3));
        p.charStart = s.int64(4);
        p.charEnd = s.int64(5);
        p.text = s.text(6);
        p.page = int(s.int64(7));
        result.push_back(p);
    }
    return result;
}

int Database::passageCount(qint64 docId) const
{
    Statement s(d->db, "SELECT count(*) FROM passages WHERE doc_id = ?1");
    s.bind(1, docId);
    return s.step() ? int(s.int64(0)) : 0;
}

void Database::setDocumentStatus(qint64 docId, const QString& status)
{
    WriteTransaction transaction(d->db);
    Statement(d->db, kDocumentSetStatusSql).bind(1, docId).bind(2, status).run();
    d->requireChange(docId);
    transaction.commit();
}

void Database::setDocumentTokens(qint64 docId, qint64 tokens)
{
    WriteTransaction transaction(d->db);
    Statement(d->db, kDocumentSetTokensSql).bind(1, docId).bind(2, tokens).run();
    d->requireChange(docId);
    transaction.commit();
}

void Database::removeDocument(qint64 docId)
{
    WriteTransaction transaction(d->db);
    // Chapters, passages (the text; through the trigger their FTS rows) and the session
    // go with the document by ON DELETE CASCADE.
    Statement(d->db, kDocumentDeleteSql).bind(1, docId).run();
    d->requireChange(docId);
    transaction.commit();
}

// ---- search

QVector<SearchHit> Database::search(const QString& query, int limit, qint64 docId) const
{
    QVector<SearchHit> hits;
    const QStringList terms = quotedTerms(query);
    if (terms.isEmpty() || limit <= 0)
        return hits;

    QSet<qint64> seen;
    // Phrase matches first (with a bonus that keeps their scores above the rest), then
    // passages holding every word, each group by bm25 (lower bm25 = better match).
    auto collect = [&](const QString& ftsQuery, double bonus) {
        Statement s(d->db, kSearchSql);
        s.bind(1, ftsQuery).bind(2, docId).bind(3, qint64(limit));
        while (s.step() && hits.size() < limit) {
            const qint64 id = s.int64(0);
            if (seen.contains(id))
                continue;
            seen.insert(id);
            SearchHit h;
            h.passageId = id;
            h.docId = s.int64(1);
            h.docTitle = s.text(2);
            h.chapterIndex = int(s.int64(3));
            h.chapterTitle = s.text(4);
            h.charStart = s.int64(5);
            h.charEnd = s.int64(6);
            h.text = s.text(7);
            h.snippet = s.text(8);
            h.score = bonus - s.real(9);
            h.page = int(s.int64(10));
            hits.push_back(h);
        }
    };
    collect(ftsPhraseQuery(terms), 1000.0);
    if (terms.size() > 1 && hits.size() < limit)
        collect(ftsAllWordsQuery(terms), 0.0);
    return hits;
}

// ---- sessions

void Database::saveSession(const SessionRecord& session)
{
    WriteTransaction transaction(d->db);
    Statement s(d->db, kSessionUpsertSql);
    s.bind(1, session.docId).bind(2, session.position)
        .bind(3, session.updatedAtMs > 0 ? session.updatedAtMs : nowMs()).bind(4, session.uiState);
    try {
        s.run();
    } catch (const StorageError&) {
        if (!document(session.docId))
            throw StorageError(message(QStringLiteral("cannot save a session: no document with id %1").arg(session.docId)));
        throw;
    }
    transaction.commit();
}

std::optional<SessionRecord> Database::session(qint64 docId) const
{
    Statement s(d->db, kSessionSql);
    s.bind(1, docId);
    if (!s.step())
        return std::nullopt;
    return readSession(s);
}

std::optional<SessionRecord> Database::lastSession() const
{
    Statement s(d->db, kLastSessionSql);
    if (!s.step())
        return std::nullopt;
    return readSession(s);
}

QString Database::integrityCheck() const
{
    QStringList problems;
    {
        Statement s(d->db, "PRAGMA integrity_check(20)");
        while (s.step()) {
            const QString row = s.text(0);
            if (row != QLatin1String("ok"))
                problems << row;
        }
    }
    // The external-content FTS index must match passages row for row.
    try {
        Statement(d->db, kFtsIntegritySql).run();
    } catch (const StorageError& e) {
        problems << QStringLiteral("full-text index: %1").arg(QString::fromStdString(e.what()));
    }
    return problems.isEmpty() ? QStringLiteral("ok") : problems.join(QLatin1Char('\n'));
}

QString defaultDatabasePath()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/library.sqlite3");
}

}  // namespace mm::storage
