#include "storage/sentence_index.h"

#include "storage/sqlite_util.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>

namespace mm::storage {
namespace {

using sql::Statement;
using sql::WriteTransaction;

constexpr const char* kCreateSql = R"SQL(
CREATE TABLE IF NOT EXISTS answer_sentences (
    id              INTEGER PRIMARY KEY,
    doc_id          INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal         INTEGER NOT NULL,
    char_start      INTEGER NOT NULL,
    char_end        INTEGER NOT NULL,
    chapter_ordinal INTEGER NOT NULL DEFAULT -1,
    heading         INTEGER NOT NULL DEFAULT 0,
    text            TEXT NOT NULL,
    UNIQUE (doc_id, ordinal)
);
CREATE INDEX IF NOT EXISTS answer_sentences_by_end ON answer_sentences(doc_id, char_end);
CREATE VIRTUAL TABLE IF NOT EXISTS answer_sentences_fts USING fts5(
    text,
    content = 'answer_sentences',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS answer_sentences_after_insert AFTER INSERT ON answer_sentences BEGIN
    INSERT INTO answer_sentences_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS answer_sentences_after_delete AFTER DELETE ON answer_sentences BEGIN
    INSERT INTO answer_sentences_fts(answer_sentences_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TABLE IF NOT EXISTS answer_words (
    doc_id      INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    word        TEXT NOT NULL,
    PRIMARY KEY (doc_id, word)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS answer_index (
    doc_id      INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    sentences   INTEGER NOT NULL,
    built_at    INTEGER NOT NULL
);
)SQL";

// CROSS JOIN keeps the FTS index as the outer loop: without it SQLite may walk every
// sentence before the position and run the MATCH once per row (seconds on a long book).
// The FTS table holds every document's sentences; the rowid range (?5, ?6: the document's
// sentences up to the position, idRange) lets FTS5 skip the posting lists of the others and
// of the text after the position instead of joining every match (3-8x faster per query in a
// library of four books). doc_id and char_end stay in the WHERE: the range only narrows.
// The best ?4 are chosen inside the FTS table and only they are joined to their sentences
// (1.5-4x faster where a question's words match thousands of sentences): every row of the
// range qualifies (ids rise with char_end), so the order and the limit are those of the
// join; ties in bm25 go by reading order both ways (rowid rises with ordinal).
constexpr const char* kSearchSql = R"SQL(
SELECT s.id, s.ordinal, s.char_start, s.char_end, s.chapter_ordinal, s.heading, s.text, best.score
FROM (SELECT rowid AS id, bm25(answer_sentences_fts) AS score
      FROM answer_sentences_fts
      WHERE answer_sentences_fts MATCH ?1 AND rowid BETWEEN ?5 AND ?6
      ORDER BY score, rowid
      LIMIT ?4) AS best
CROSS JOIN answer_sentences s ON s.id = best.id
WHERE s.doc_id = ?2 AND s.char_end <= ?3
ORDER BY best.score, s.ordinal)SQL";

constexpr const char* kFirstSql = R"SQL(
SELECT s.id, s.ordinal, s.char_start, s.char_end, s.chapter_ordinal, s.heading, s.text, 0.0
FROM answer_sentences_fts
CROSS JOIN answer_sentences s ON s.id = answer_sentences_fts.rowid
WHERE answer_sentences_fts MATCH ?1 AND answer_sentences_fts.rowid BETWEEN ?5 AND ?6
  AND s.doc_id = ?2 AND s.char_end <= ?3
ORDER BY s.ordinal
LIMIT 1)SQL";

constexpr const char* kMentionsSql = R"SQL(
SELECT s.id, s.ordinal, s.char_start, s.char_end, s.chapter_ordinal, s.heading, s.text, 0.0
FROM answer_sentences_fts
CROSS JOIN answer_sentences s ON s.id = answer_sentences_fts.rowid
WHERE answer_sentences_fts MATCH ?1 AND answer_sentences_fts.rowid BETWEEN ?5 AND ?6
  AND s.doc_id = ?2 AND s.char_end <= ?3
LIMIT ?4)SQL";

constexpr const char* kCountProseSql = R"SQL(
SELECT count(*)
FROM answer_sentences_fts
CROSS JOIN answer_sentences s ON s.id = answer_sentences_fts.rowid
WHERE answer_sentences_fts MATCH ?1 AND answer_sentences_fts.rowid BETWEEN ?4 AND ?5
  AND s.doc_id = ?2 AND s.char_end <= ?3 AND s.heading = 0)SQL";
// Every sentence of the rowid range is the document's and ends by the position (idRange):
// counting all of them needs the posting list only, not a join per match.
constexpr const char* kCountAllSql = R"SQL(
SELECT count(*)
FROM answer_sentences_fts
WHERE answer_sentences_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3)SQL";

constexpr const char* kRangeSql = R"SQL(
SELECT id, ordinal, char_start, char_end, chapter_ordinal, heading, text, 0.0
FROM answer_sentences
WHERE doc_id = ?1 AND ordinal BETWEEN ?2 AND ?3 AND char_end <= ?4
ORDER BY ordinal)SQL";

// "+char_end": without it the planner prefers the (doc_id, char_end) index and walks every
// sentence before the position to test its ordinal (4 ms for 240 ordinals in a long book;
// 0.4 ms by the (doc_id, ordinal) index).
constexpr const char* kAtOrdinalsSql = R"SQL(
SELECT id, ordinal, char_start, char_end, chapter_ordinal, heading, text, 0.0
FROM answer_sentences
WHERE doc_id = ?1 AND ordinal IN (SELECT value FROM json_each(?2)) AND +char_end <= ?3
ORDER BY ordinal)SQL";

SentenceRow rowOf(const Statement& s)
{
    SentenceRow r;
    r.id = s.int64(0);
    r.ordinal = int(s.int64(1));
    r.charStart = s.int64(2);
    r.charEnd = s.int64(3);
    r.chapterIndex = int(s.int64(4));
    r.heading = s.int64(5) != 0;
    r.text = s.text(6);
    r.bm25 = s.real(7);
    return r;
}

}  // namespace

SentenceIndex::SentenceIndex(Database& db) : m_db(db) {}

bool SentenceIndex::tablesExist() const
{
    // Asked before every query; the tables are never dropped, so once seen they stay.
    if (m_tablesSeen)
        return true;
    Statement s(m_db.statements(), "SELECT count(*) FROM sqlite_master WHERE name = 'answer_index'");
    m_tablesSeen = s.step() && s.int64(0) > 0;
    return m_tablesSeen;
}

bool SentenceIndex::isBuilt(qint64 docId, int splitterVersion) const
{
    if (!tablesExist())
        return false;
    Statement s(m_db.statements(), "SELECT version FROM answer_index WHERE doc_id = ?1");
    s.bind(1, docId);
    return s.step() && s.int64(0) == splitterVersion;
}

int SentenceIndex::sentenceCount(qint64 docId) const
{
    if (!tablesExist())
        return 0;
    Statement s(m_db.statements(), "SELECT count(*) FROM answer_sentences WHERE doc_id = ?1");
    s.bind(1, docId);
    return s.step() ? int(s.int64(0)) : 0;
}

qint64 SentenceIndex::countBefore(qint64 docId, qint64 before) const
{
    if (!tablesExist())
        return 0;
    const std::optional<IdRange> ids = idRange(docId, before);  // not count(*): a walk of the whole prefix
    return ids ? ids->sentences : 0;
}

void SentenceIndex::build(qint64 docId, int splitterVersion, const QString& text, const QVector<SentenceSpan>& spans,
                          const QStringList& ordinaryWords)
{
    m_range.reset();  // the ids change
    sqlite3* db = m_db.handle();
    WriteTransaction transaction(db);
    sql::exec(db, kCreateSql, "cannot create the sentence index");
    {
        Statement del(db, "DELETE FROM answer_sentences WHERE doc_id = ?1");
        del.bind(1, docId).run();
    }
    // Spans are code points; QString indexes UTF-16 units: walk both together.
    Statement ins(db, "INSERT INTO answer_sentences(doc_id, ordinal, char_start, char_end, chapter_ordinal, heading, text) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    qint64 cp = 0;
    qsizetype unit = 0;
    auto advanceTo = [&](qint64 target) {
        while (cp < target && unit < text.size()) {
            unit += (text.at(unit).isHighSurrogate() && unit + 1 < text.size()) ? 2 : 1;
            ++cp;
        }
        return unit;
    };
    int ordinal = 0;
    for (const SentenceSpan& span : spans) {
        if (span.charEnd <= span.charStart || span.charStart < cp)
            throw StorageError("cannot build the sentence index: sentence spans must be sorted, non-overlapping and non-empty");
        const qsizetype from = advanceTo(span.charStart);
        const qsizetype to = advanceTo(span.charEnd);
        if (cp != span.charEnd)
            throw StorageError("cannot build the sentence index: a sentence ends past the end of the text");
        ins.reset();
        ins.bind(1, docId).bind(2, ordinal++).bind(3, span.charStart).bind(4, span.charEnd)
            .bind(5, span.chapterIndex).bind(6, qint64(span.heading ? 1 : 0)).bind(7, text.mid(from, to - from));
        ins.run();
    }
    {
        Statement del(db, "DELETE FROM answer_words WHERE doc_id = ?1");
        del.bind(1, docId).run();
        Statement word(db, "INSERT OR IGNORE INTO answer_words(doc_id, word) VALUES (?1, ?2)");
        for (const QString& w : ordinaryWords) {
            word.reset();
            word.bind(1, docId).bind(2, w).run();
        }
    }
    Statement meta(db, "INSERT OR REPLACE INTO answer_index(doc_id, version, sentences, built_at) VALUES (?1, ?2, ?3, ?4)");
    meta.bind(1, docId).bind(2, splitterVersion).bind(3, qint64(spans.size()))
        .bind(4, QDateTime::currentMSecsSinceEpoch()).run();
    transaction.commit();
}

namespace {

// A JSON array, for "IN (SELECT value FROM json_each(?))": one statement for a list of any
// length.
QString jsonText(const QJsonArray& values)
{
    return QString::fromUtf8(QJsonDocument(values).toJson(QJsonDocument::Compact));
}

}  // namespace

QStringList SentenceIndex::ordinaryWords(qint64 docId, const QStringList& words) const
{
    QStringList found;
    if (words.isEmpty() || !tablesExist())
        return found;
    Statement s(m_db.statements(), "SELECT word FROM answer_words WHERE doc_id = ?1 AND word IN (SELECT value FROM json_each(?2))");
    s.bind(1, docId).bind(2, jsonText(QJsonArray::fromStringList(words)));
    while (s.step())
        found << s.text(0);
    return found;
}

std::optional<SentenceIndex::IdRange> SentenceIndex::idRange(qint64 docId, qint64 before) const
{
    if (m_range && m_rangeDoc == docId && m_rangeBefore == before)
        return m_range->first <= m_range->last ? m_range : std::nullopt;
    // build() inserts a document's sentences in reading order in one transaction, so their
    // ids rise with ordinal and char_end: the first sentence has the lowest id, the last one
    // ending at or before the position the highest of those that qualify.
    // Ordinals count 0, 1, 2, ... in the same order: the last one's ordinal + 1 sentences.
    IdRange r{1, 0, 0};  // empty
    Statement firstId(m_db.statements(), "SELECT id FROM answer_sentences WHERE doc_id = ?1 ORDER BY ordinal LIMIT 1");
    firstId.bind(1, docId);
    if (firstId.step()) {
        Statement lastId(m_db.statements(), "SELECT id, ordinal FROM answer_sentences WHERE doc_id = ?1 AND char_end <= ?2 "
                                            "ORDER BY char_end DESC LIMIT 1");
        lastId.bind(1, docId).bind(2, before);
        if (lastId.step())
            r = {firstId.int64(0), lastId.int64(0), lastId.int64(1) + 1};
    }
    m_range = r;
    m_rangeDoc = docId;
    m_rangeBefore = before;
    return r.first <= r.last ? std::optional<IdRange>(r) : std::nullopt;
}

QVector<SentenceRow> SentenceIndex::matching(const char* sql, qint64 docId, const QString& ftsQuery, qint64 before,
                                             int limit) const
{
    QVector<SentenceRow> rows;
    if (ftsQuery.isEmpty() || limit <= 0 || !tablesExist())
        return rows;
    const std::optional<IdRange> ids = idRange(docId, before);
    if (!ids)
        return rows;
    Statement s(m_db.statements(), sql);
    s.bind(1, ftsQuery).bind(2, docId).bind(3, before).bind(4, qint64(limit)).bind(5, ids->first).bind(6, ids->last);
    while (s.step())
        rows.push_back(rowOf(s));
    return rows;
}

QVector<SentenceRow> SentenceIndex::search(qint64 docId, const QString& ftsQuery, qint64 before, int limit) const
{
    return matching(kSearchSql, docId, ftsQuery, before, limit);
}

QVector<SentenceRow> SentenceIndex::mentions(qint64 docId, const QString& ftsQuery, qint64 before, int limit) const
{
    return matching(kMentionsSql, docId, ftsQuery, before, limit);
}

QVector<SentenceRow> SentenceIndex::range(qint64 docId, int first, int last, qint64 before) const
{
    QVector<SentenceRow> rows;
    if (last < first || !tablesExist())
        return rows;
    Statement s(m_db.statements(), kRangeSql);
    s.bind(1, docId).bind(2, first).bind(3, last).bind(4, before);
    while (s.step())
        rows.push_back(rowOf(s));
    return rows;
}

QVector<SentenceRow> SentenceIndex::atOrdinals(qint64 docId, const QVector<int>& ordinals, qint64 before) const
{
    QVector<SentenceRow> rows;
    if (ordinals.isEmpty() || !tablesExist())
        return rows;
    QJsonArray list;
    for (int o : ordinals)
        list.append(o);
    Statement s(m_db.statements(), kAtOrdinalsSql);
    s.bind(1, docId).bind(2, jsonText(list)).bind(3, before);
    while (s.step())
        rows.push_back(rowOf(s));
    return rows;
}

qint64 SentenceIndex::count(qint64 docId, const QString& ftsQuery, qint64 before, bool proseOnly) const
{
    if (ftsQuery.isEmpty() || !tablesExist())
        return 0;
    const std::optional<IdRange> ids = idRange(docId, before);
    if (!ids)
        return 0;
    if (!proseOnly) {
        Statement s(m_db.statements(), kCountAllSql);
        s.bind(1, ftsQuery).bind(2, ids->first).bind(3, ids->last);
        return s.step() ? s.int64(0) : 0;
    }
    Statement s(m_db.statements(), kCountProseSql);
    s.bind(1, ftsQuery).bind(2, docId).bind(3, before).bind(4, ids->first).bind(5, ids->last);
    return s.step() ? s.int64(0) : 0;
}

std::optional<SentenceRow> SentenceIndex::first(qint64 docId, const QString& ftsQuery, qint64 before) const
{
    if (ftsQuery.isEmpty() || !tablesExist())
        return std::nullopt;
    const std::optional<IdRange> ids = idRange(docId, before);
    if (!ids)
        return std::nullopt;
    Statement s(m_db.statements(), kFirstSql);
    s.bind(1, ftsQuery).bind(2, docId).bind(3, before).bind(5, ids->first).bind(6, ids->last);
    if (!s.step())
        return std::nullopt;
    return rowOf(s);
}

QString SentenceIndex::quoted(const QString& words)
{
    QString q = words;
    q.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}

}  // namespace mm::storage
