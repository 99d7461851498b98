#include "storage/memory_store.h"

#include "storage/sqlite_util.h"

#include <QDateTime>

#include <sqlite3.h>

#include <algorithm>

namespace mm::storage {

using sql::Statement;
using sql::WriteTransaction;

namespace {

constexpr const char* kRunSql = R"SQL(
SELECT doc_id, fingerprint, total_tokens, done_tokens, settings, started_at, updated_at
FROM memory_runs WHERE doc_id = ?1)SQL";
constexpr const char* kRunInsertSql = R"SQL(
INSERT OR REPLACE INTO memory_runs(doc_id, fingerprint, total_tokens, done_tokens, settings, started_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6))SQL";
constexpr const char* kRunAdvanceSql = "UPDATE memory_runs SET done_tokens = ?2, updated_at = ?3 WHERE doc_id = ?1";
constexpr const char* kDeleteOtherStatesSql = "DELETE FROM model_states WHERE doc_id = ?1 AND fingerprint <> ?2";
constexpr const char* kDeleteOtherBlocksSql = "DELETE FROM memory_blocks WHERE doc_id = ?1 AND fingerprint <> ?2";
constexpr const char* kDeleteStatesSql = "DELETE FROM model_states WHERE doc_id = ?1";
constexpr const char* kDeleteBlocksSql = "DELETE FROM memory_blocks WHERE doc_id = ?1";
constexpr const char* kDeleteRunSql = "DELETE FROM memory_runs WHERE doc_id = ?1";
constexpr const char* kStatusSql = "UPDATE documents SET status = ?2 WHERE id = ?1";
constexpr const char* kStatusTokensSql = "UPDATE documents SET status = ?2, tokens = ?3 WHERE id = ?1";
constexpr const char* kProducersSql = R"SQL(
SELECT fingerprint FROM model_states WHERE doc_id = ?1
UNION SELECT fingerprint FROM memory_blocks WHERE doc_id = ?1 ORDER BY 1)SQL";

constexpr const char* kCheckpointColumns = R"SQL(
SELECT id, doc_id, fingerprint, position, char_offset, kind, chapter_ordinal, format_version, codec,
       raw_bytes, checksum, length(state), created_at FROM model_states )SQL";
constexpr const char* kCheckpointInsertSql = R"SQL(
INSERT OR REPLACE INTO model_states(doc_id, fingerprint, position, char_offset, kind, chapter_ordinal, format_version,
                                    codec, raw_bytes, checksum, created_at, state)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12))SQL";
constexpr const char* kCheckpointBlobSql = "SELECT state FROM model_states WHERE id = ?1";

constexpr const char* kBlockColumns = R"SQL(
SELECT id, doc_id, fingerprint, first_position, end_position, char_start, char_end, format_version, codec,
       raw_bytes, checksum, length(data), CASE WHEN ?9 THEN data ELSE NULL END FROM memory_blocks )SQL";
constexpr const char* kBlockInsertSql = R"SQL(
INSERT OR REPLACE INTO memory_blocks(doc_id, fingerprint, first_position, end_position, char_start, char_end,
                                     format_version, codec, raw_bytes, checksum, data)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11))SQL";
constexpr const char* kTruncateBlocksSql =
    "DELETE FROM memory_blocks WHERE doc_id = ?1 AND fingerprint = ?2 AND end_position > ?3";
constexpr const char* kTruncateStatesSql =
    "DELETE FROM model_states WHERE doc_id = ?1 AND fingerprint = ?2 AND position > ?3";
constexpr const char* kUsageSql = R"SQL(
SELECT (SELECT count(*) FROM model_states WHERE doc_id = ?1), (SELECT coalesce(sum(length(state)), 0) FROM model_states WHERE doc_id = ?1),
       (SELECT count(*) FROM memory_blocks WHERE doc_id = ?1), (SELECT coalesce(sum(length(data)), 0) FROM memory_blocks WHERE doc_id = ?1))SQL";

constexpr const char* kAnswerInsertSql = R"SQL(
INSERT INTO answers(doc_id, asked_at, question, as_of_char, answer, evidence, timings, finished, cancelled, error,
                    position, chapter_index, chapter_title, model, support, ask_id, format)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12, ?13, ?14, ?15, ?16, ?17, ?18))SQL";
constexpr const char* kAnswerUpdateSql = R"SQL(
UPDATE answers SET doc_id = ?1, asked_at = ?2, question = ?3, as_of_char = ?4, answer = ?5, evidence = ?6,
                   timings = ?7, finished = ?8, cancelled = ?9, error = ?10, position = ?12, chapter_index = ?13,
                   chapter_title = ?14, model = ?15, support = ?16, ask_id = ?17, format = ?18
WHERE id = ?11)SQL";
#define MM_ANSWER_COLUMNS \
    "SELECT id, doc_id, asked_at, question, coalesce(as_of_char, -1), answer, evidence, timings, finished, " \
    "cancelled, error, position, chapter_index, chapter_title, model, support, ask_id, format FROM answers "
constexpr const char* kAnswersSql = MM_ANSWER_COLUMNS "WHERE doc_id = ?1 ORDER BY asked_at, id";
constexpr const char* kAnswersBelowFormatSql = MM_ANSWER_COLUMNS "WHERE format < ?1 ORDER BY id";
#undef MM_ANSWER_COLUMNS

constexpr const char* kPruneSql = R"SQL(
DELETE FROM model_states WHERE doc_id = ?1 AND fingerprint = ?2 AND kind = ?3 AND id NOT IN (
    SELECT id FROM model_states WHERE doc_id = ?1 AND fingerprint = ?2 AND kind = ?3
    ORDER BY created_at DESC, id DESC LIMIT ?4))SQL";

qint64 nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

CheckpointRecord checkpointFrom(const Statement& s)
{
    CheckpointRecord c;
    c.id = s.int64(0);
    c.docId = s.int64(1);
    c.fingerprint = s.text(2);
    c.position = s.int64(3);
    c.charOffset = s.int64(4);
    c.kind = s.text(5);
    c.chapterIndex = int(s.int64(6));
    c.formatVersion = int(s.int64(7));
    c.codec = s.text(8);
    c.rawBytes = s.int64(9);
    c.checksum = s.text(10);
    c.storedBytes = s.int64(11);
    c.createdAtMs = s.int64(12);
    return c;
}

AnswerRow answerFrom(const Statement& s)
{
    AnswerRow a;
    a.id = s.int64(0);
    a.docId = s.int64(1);
    a.askedAtMs = s.int64(2);
    a.question = s.text(3);
    a.asOfChar = s.int64(4);
    a.answer = s.text(5);
    a.evidenceJson = s.text(6);
    a.timingsJson = s.text(7);
    a.finished = s.int64(8) != 0;
    a.cancelled = s.int64(9) != 0;
    a.error = s.text(10);
    a.position = s.int64(11);
    a.chapterIndex = int(s.int64(12));
    a.chapterTitle = s.text(13);
    a.model = s.text(14);
    a.supportJson = s.text(15);
    a.askId = s.int64(16);
    a.format = int(s.int64(17));
    return a;
}

MemoryBlockRecord blockFrom(const Statement& s)
{
    MemoryBlockRecord b;
    b.id = s.int64(0);
    b.docId = s.int64(1);
    b.fingerprint = s.text(2);
    b.firstPosition = s.int64(3);
    b.endPosition = s.int64(4);
    b.charStart = s.int64(5);
    b.charEnd = s.int64(6);
    b.formatVersion = int(s.int64(7));
    b.codec = s.text(8);
    b.rawBytes = s.int64(9);
    b.checksum = s.text(10);
    b.storedBytes = s.int64(11);
    if (!s.isNull(12))
        b.data = s.blob(12);
    return b;
}

void insertCheckpoint(sqlite3* db, qint64 docId, const CheckpointRecord& c, const QString& fingerprint)
{
    Statement(db, kCheckpointInsertSql)
        .bind(1, docId)
        .bind(2, fingerprint)
        .bind(3, c.position)
        .bind(4, c.charOffset)
        .bind(5, c.kind)
        .bind(6, c.chapterIndex)
        .bind(7, c.formatVersion)
        .bind(8, c.codec)
        .bind(9, c.rawBytes)
        .bind(10, c.checksum)
        .bind(11, nowMs())
        .bind(12, c.blob)
        .run();
}

}  // namespace

MemoryStore::MemoryStore(Database& db) : m_db(db) {}

MemoryRun MemoryStore::beginRun(qint64 docId, const QString& fingerprint, qint64 totalTokens, const QString& settings)
{
    sqlite3* db = m_db.handle();
    WriteTransaction transaction(db);
    Statement(db, kStatusSql).bind(1, docId).bind(2, QStringLiteral("reading")).run();
    if (sqlite3_changes64(db) == 0)
        throw StorageError(QStringLiteral("no document with id %1").arg(docId).toStdString());
    Statement(db, kDeleteOtherStatesSql).bind(1, docId).bind(2, fingerprint).run();
    Statement(db, kDeleteOtherBlocksSql).bind(1, docId).bind(2, fingerprint).run();
    std::optional<MemoryRun> existing = run(docId);
    if (!existing || existing->fingerprint != fingerprint || existing->totalTokens != totalTokens) {
        Statement(db, kDeleteStatesSql).bind(1, docId).run();
        Statement(db, kDeleteBlocksSql).bind(1, docId).run();
        Statement(db, kRunInsertSql)
            .bind(1, docId)
            .bind(2, fingerprint)
            .bind(3, totalTokens)
            .bind(4, qint64(0))
            .bind(5, settings)
            .bind(6, nowMs())
            .run();
    }
    transaction.commit();
    return *run(docId);
}

void MemoryStore::commitStep(qint64 docId, const MemoryBlockRecord& b, const CheckpointRecord& c, bool final)
{
    if (c.position != b.endPosition)
        throw StorageError("commitStep: the checkpoint must be at the block's end");
    sqlite3* db = m_db.handle();
    WriteTransaction transaction(db);
    const std::optional<MemoryRun> r = run(docId);
    if (!r || r->fingerprint != b.fingerprint)
        throw StorageError(QStringLiteral("commitStep: document %1 has no reading run by this model").arg(docId).toStdString());
    Statement(db, kBlockInsertSql)
        .bind(1, docId)
        .bind(2, b.fingerprint)
        .bind(3, b.firstPosition)
        .bind(4, b.endPosition)
        .bind(5, b.charStart)
        .bind(6, b.charEnd)
        .bind(7, b.formatVersion)
        .bind(8, b.codec)
        .bind(9, b.rawBytes)
        .bind(10, b.checksum)
        .bind(11, b.data)
        .run();
    insertCheckpoint(db, docId, c, b.fingerprint);
    Statement(db, kRunAdvanceSql).bind(1, docId).bind(2, b.endPosition).bind(3, nowMs()).run();
    if (final)
        Statement(db, kStatusTokensSql).bind(1, docId).bind(2, QStringLiteral("ready")).bind(3, r->totalTokens).run();
    transaction.commit();
}

void MemoryStore::addCheckpoint(qint64 docId, const CheckpointRecord& c)
{
    sqlite3* db = m_db.handle();
    WriteTransaction transaction(db);
    insertCheckpoint(db, docId, c, c.fingerprint);
    transaction.commit();
}

std::optional<MemoryRun> MemoryStore::run(qint64 docId) const
{
    Statement s(m_db.handle(), kRunSql);
    s.bind(1, docId);
    if (!s.step())
        return std::nullopt;
    return MemoryRun{s.int64(0), s.text(1), s.int64(2), s.int64(3), s.text(4), s.int64(5), s.int64(6)};
}

QStringList MemoryStore::producers(qint64 docId) const
{
    QStringList out;
    Statement s(m_db.handle(), kProducersSql);
    s.bind(1, docId);
    while (s.step())
        out << s.text(0);
    return out;
}

QVector<CheckpointRecord> MemoryStore::checkpoints(qint64 docId, const QString& fingerprint) const
{
    const QByteArray sqlText = QByteArray(kCheckpointColumns) + "WHERE doc_id = ?1 AND fingerprint = ?2 ORDER BY position";
    Statement s(m_db.handle(), sqlText.constData());
    s.bind(1, docId).bind(2, fingerprint);
    QVector<CheckpointRecord> out;
    while (s.step())
        out.push_back(checkpointFrom(s));
    return out;
}

std::optional<CheckpointRecord> MemoryStore::checkpointAtOrBefore(qint64 docId, const QString& fingerprint,
                                                                  qint64 position) const
{
    const QByteArray sqlText = QByteArray(kCheckpointColumns) +
                               "WHERE doc_id = ?1 AND fingerprint = ?2 AND position <= ?3 ORDER BY position DESC LIMIT 1";
    Statement s(m_db.handle(), sqlText.constData());
    s.bind(1, docId).bind(2, fingerprint).bind(3, position);
    if (!s.step())
        return std::nullopt;
    return checkpointFrom(s);
}

QByteArray MemoryStore::checkpointBlob(qint64 checkpointId) const
{
    Statement s(m_db.handle(), kCheckpointBlobSql);
    s.bind(1, checkpointId);
    if (!s.step())
        throw StorageError(QStringLiteral("no checkpoint with id %1").arg(checkpointId).toStdString());
    return s.blob(0);
}

QVector<MemoryBlockRecord> MemoryStore::blocks(qint64 docId, const QString& fingerprint, qint64 from, qint64 to,
                                               bool withData) const
{
    const QByteArray sqlText = QByteArray(kBlockColumns) +
                               "WHERE doc_id = ?1 AND fingerprint = ?2 AND end_position > ?3 AND first_position < ?4 "
                               "ORDER BY first_position";
    Statement s(m_db.handle(), sqlText.constData());
    s.bind(1, docId).bind(2, fingerprint).bind(3, from).bind(4, to).bind(9, qint64(withData ? 1 : 0));
    QVector<MemoryBlockRecord> out;
    while (s.step())
        out.push_back(blockFrom(s));
    return out;
}

std::optional<MemoryBlockRecord> MemoryStore::blockAtChar(qint64 docId, const QString& fingerprint,
                                                          qint64 charOffset) const
{
    const QByteArray sqlText = QByteArray(kBlockColumns) +
                               "WHERE doc_id = ?1 AND fingerprint = ?2 AND char_start <= ?3 "
                               "ORDER BY first_position DESC LIMIT 1";
    Statement s(m_db.handle(), sqlText.constData());
    s.bind(1, docId).bind(2, fingerprint).bind(3, charOffset).bind(9, qint64(1));
    if (!s.step())
        return std::nullopt;
    return blockFrom(s);
}

void MemoryStore::truncateAfter(qint64 docId, const QString& fingerprint, qint64 position)
{
    sqlite3* db = m_db.handle();
    WriteTransaction transaction(db);
    Statement(db, kTruncateBlocksSql).bind(1, docId).bind(2, fingerprint).bind(3, position).run();
    Statement(db, kTruncateStatesSql).bind(1, docId).bind(2, fingerprint).bind(3, position).run();
    Statement(db, kRunAdvanceSql).bind(1, docId).bind(2, position).bind(3, nowMs()).run();
    transaction.commit();
}

void MemoryStore::pruneCheckpoints(qint64 docId, const QString& fingerprint, const QString& kind, int keep)
{
    sqlite3* db = m_db.handle();
    WriteTransaction transaction(db);
    Statement(db, kPruneSql).bind(1, docId).bind(2, fingerprint).bind(3, kind).bind(4, qint64(std::max(0, keep))).run();
    transaction.commit();
}

void MemoryStore::removeMemory(qint64 docId)
{
    sqlite3* db = m_db.handle();
    WriteTransaction transaction(db);
    Statement(db, kDeleteStatesSql).bind(1, docId).run();
    Statement(db, kDeleteBlocksSql).bind(1, docId).run();
    Statement(db, kDeleteRunSql).bind(1, docId).run();
    Statement(db, kStatusTokensSql).bind(1, docId).bind(2, QStringLiteral("imported")).bind(3, qint64(0)).run();
    transaction.commit();
}

MemoryUsage MemoryStore::usage(qint64 docId) const
{
    Statement s(m_db.handle(), kUsageSql);
    s.bind(1, docId);
    s.step();
    return {s.int64(0), s.int64(1), s.int64(2), s.int64(3)};
}

qint64 MemoryStore::saveAnswer(const AnswerRow& a)
{
    sqlite3* db = m_db.handle();
    WriteTransaction transaction(db);
    Statement s(db, a.id > 0 ? kAnswerUpdateSql : kAnswerInsertSql);
    s.bind(1, a.docId)
        .bind(2, a.askedAtMs > 0 ? a.askedAtMs : nowMs())
        .bind(3, a.question)
        .bind(5, a.answer)
        .bind(6, a.evidenceJson)
        .bind(7, a.timingsJson)
        .bind(8, qint64(a.finished ? 1 : 0))
        .bind(9, qint64(a.cancelled ? 1 : 0))
        .bind(10, a.error);
    if (a.asOfChar >= 0)
        s.bind(4, a.asOfChar);
    else
        s.bindNull(4);
    if (a.id > 0)
        s.bind(11, a.id);
    s.bind(12, a.position)
        .bind(13, qint64(a.chapterIndex))
        .bind(14, a.chapterTitle)
        .bind(15, a.model)
        .bind(16, a.supportJson)
        .bind(17, a.askId)
        .bind(18, qint64(a.format));
    s.run();
    if (sqlite3_changes64(db) == 0)
        throw StorageError(QStringLiteral("no answer with id %1").arg(a.id).toStdString());
    const qint64 id = a.id > 0 ? a.id : sqlite3_last_insert_rowid(db);
    transaction.commit();
    return id;
}

QVector<AnswerRow> MemoryStore::answers(qint64 docId) const
{
    Statement s(m_db.handle(), kAnswersSql);
    s.bind(1, docId);
    QVector<AnswerRow> out;
    while (s.step())
        out.push_back(answerFrom(s));
    return out;
}

QVector<AnswerRow> MemoryStore::answersBelowFormat(int format) const
{
    Statement s(m_db.handle(), kAnswersBelowFormatSql);
    s.bind(1, qint64(format));
    QVector<AnswerRow> out;
    while (s.step())
        out.push_back(answerFrom(s));
    return out;
}

}  // namespace mm::storage
