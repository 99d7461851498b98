#include "storage/schema.h"

#include "storage/database.h"
#include "storage/sqlite_util.h"

#include <QString>

namespace mm::storage {
namespace {

// Version log
//   1: collections, documents, document_text, chapters, passages + passages_fts, sessions.
//   2: passages.page (PDF page a passage starts on, NULL without pages); document_text
//      dropped: the passages tile the text, so they are the text (halves a book's
//      storage and lets importers stream); index passages(doc_id, char_start).
//   3: the model's memory of a document: model_states (checkpoints: compressed state
//      blobs with format version, producer fingerprint and checksum), memory_blocks
//      (tokens, char offsets, surprisal, importance and note events, one compressed blob
//      per span between checkpoints) and memory_runs (one row per document: the reading
//      in progress or done, its producer and settings). Existing documents keep status
//      'imported' (not read yet); nothing else changes.
//   4: answers: the questions asked about a document and their answers, evidence and
//      timings (the reader's Q&A history), kept with the document.
//   5: answers get what one question-and-answer record holds (app/memory/qa_record.h):
//      the token position, the chapter (index and title) at the asked position, the
//      model's fingerprint, the supporting sentence, the reader's ask id, and the record
//      format of the JSON columns (1: written before v5, 2: the one record schema);
//      existing rows keep everything and get format 1, which app/memory upgrades.

constexpr const char* kCreateSchemaV1 = R"SQL(
CREATE TABLE collections (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE documents (
    id            INTEGER PRIMARY KEY,
    collection_id INTEGER REFERENCES collections(id) ON DELETE SET NULL,
    content_hash  TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    author        TEXT NOT NULL DEFAULT '',
    format        TEXT NOT NULL,
    source_path   TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    characters    INTEGER NOT NULL,
    tokens        INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'imported',
    added_at      INTEGER NOT NULL
);
CREATE INDEX documents_by_collection ON documents(collection_id);

-- The whole text, UTF-8; every offset elsewhere counts code points into it.
CREATE TABLE document_text (
    doc_id  INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    text    TEXT NOT NULL
);

CREATE TABLE chapters (
    doc_id       INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal      INTEGER NOT NULL,
    title        TEXT NOT NULL,
    char_offset  INTEGER NOT NULL,
    PRIMARY KEY (doc_id, ordinal)
) WITHOUT ROWID;

CREATE TABLE passages (
    id               INTEGER PRIMARY KEY,
    doc_id           INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal          INTEGER NOT NULL,
    chapter_ordinal  INTEGER NOT NULL DEFAULT -1,
    char_start       INTEGER NOT NULL,
    char_end         INTEGER NOT NULL,
    text             TEXT NOT NULL,
    UNIQUE (doc_id, ordinal)
);

-- External-content FTS5 index over passages.text, kept in sync by the triggers below.
CREATE VIRTUAL TABLE passages_fts USING fts5(
    text,
    content = 'passages',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER passages_after_insert AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER passages_after_delete AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER passages_after_update AFTER UPDATE ON passages BEGIN
    INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE sessions (
    doc_id      INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    ui_state    BLOB
);
CREATE INDEX sessions_by_update ON sessions(updated_at);
)SQL";

// Version 1 passages always tiled their text (the importer's splitter guarantees it), so
// dropping document_text loses nothing; a document with text but no passage (possible
// only through the API) keeps its text as one passage first.
constexpr const char* kPagesAndPassageTextV2 = R"SQL(
ALTER TABLE passages ADD COLUMN page INTEGER;
INSERT INTO passages(doc_id, ordinal, chapter_ordinal, char_start, char_end, text)
    SELECT t.doc_id, 0, -1, 0, length(t.text), t.text FROM document_text t
    WHERE length(t.text) > 0 AND NOT EXISTS (SELECT 1 FROM passages p WHERE p.doc_id = t.doc_id);
DROP TABLE document_text;
CREATE INDEX passages_by_start ON passages(doc_id, char_start);
)SQL";

// Blobs are opaque to storage: the memory module (app/memory) encodes them; storage
// keeps the format version, the producer's fingerprint and a checksum beside each.
constexpr const char* kModelMemoryV3 = R"SQL(
CREATE TABLE model_states (
    id              INTEGER PRIMARY KEY,
    doc_id          INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    fingerprint     TEXT NOT NULL,
    position        INTEGER NOT NULL,
    char_offset     INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    chapter_ordinal INTEGER NOT NULL DEFAULT -1,
    format_version  INTEGER NOT NULL,
    codec           TEXT NOT NULL,
    raw_bytes       INTEGER NOT NULL,
    checksum        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           BLOB NOT NULL,
    UNIQUE (doc_id, fingerprint, position)
);

CREATE TABLE memory_blocks (
    id              INTEGER PRIMARY KEY,
    doc_id          INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    fingerprint     TEXT NOT NULL,
    first_position  INTEGER NOT NULL,
    end_position    INTEGER NOT NULL,
    char_start      INTEGER NOT NULL,
    char_end        INTEGER NOT NULL,
    format_version  INTEGER NOT NULL,
    codec           TEXT NOT NULL,
    raw_bytes       INTEGER NOT NULL,
    checksum        TEXT NOT NULL,
    data            BLOB NOT NULL,
    UNIQUE (doc_id, fingerprint, first_position)
);

CREATE TABLE memory_runs (
    doc_id          INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    fingerprint     TEXT NOT NULL,
    total_tokens    INTEGER NOT NULL,
    done_tokens     INTEGER NOT NULL DEFAULT 0,
    settings        TEXT NOT NULL DEFAULT '{}',
    started_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
)SQL";

// evidence and timings are JSON written by the memory module; storage keeps them as text.
constexpr const char* kAnswersV4 = R"SQL(
CREATE TABLE answers (
    id          INTEGER PRIMARY KEY,
    doc_id      INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    asked_at    INTEGER NOT NULL,
    question    TEXT NOT NULL,
    as_of_char  INTEGER,
    answer      TEXT NOT NULL DEFAULT '',
    evidence    TEXT NOT NULL DEFAULT '[]',
    timings     TEXT NOT NULL DEFAULT '{}',
    finished    INTEGER NOT NULL DEFAULT 0,
    cancelled   INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX answers_by_doc ON answers(doc_id, asked_at);
)SQL";

constexpr const char* kAnswerRecordV5 = R"SQL(
ALTER TABLE answers ADD COLUMN position INTEGER NOT NULL DEFAULT -1;
ALTER TABLE answers ADD COLUMN chapter_index INTEGER NOT NULL DEFAULT -1;
ALTER TABLE answers ADD COLUMN chapter_title TEXT NOT NULL DEFAULT '';
ALTER TABLE answers ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE answers ADD COLUMN support TEXT NOT NULL DEFAULT 'null';
ALTER TABLE answers ADD COLUMN ask_id INTEGER NOT NULL DEFAULT -1;
ALTER TABLE answers ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
)SQL";

}  // namespace

const std::vector<MigrationStep>& migrationSteps()
{
    static const std::vector<MigrationStep> steps = {
        {0, kCreateSchemaV1},
        {1, kPagesAndPassageTextV2},
        {2, kModelMemoryV3},
        {3, kAnswersV4},
        {4, kAnswerRecordV5},
    };
    return steps;
}

void migrate(sqlite3* db, const std::vector<MigrationStep>& steps, int applicationId)
{
    for (const MigrationStep& step : steps) {
        // A library already past this step needs no write lock: opening it must not wait
        // for (or fail on) another program's long write, such as a big import.
        if (sql::queryInt(db, "PRAGMA user_version") > step.fromVersion)
            continue;
        sql::WriteTransaction transaction(db);
        // Read inside the transaction: a second process opening the same new library
        // may have run this step while we waited for the write lock.
        const qint64 current = sql::queryInt(db, "PRAGMA user_version");
        if (current > step.fromVersion)
            continue;
        if (current < step.fromVersion)
            throw StorageError(QStringLiteral("cannot migrate the library: it is at schema version %1 but the next step starts at %2")
                                   .arg(current).arg(step.fromVersion).toStdString());
        const QByteArray what = QStringLiteral("migration step %1 -> %2 failed")
                                    .arg(step.fromVersion).arg(step.fromVersion + 1).toUtf8();
        sql::exec(db, step.sql, what.constData());
        // PRAGMAs take no bound parameters; both values are integers we format ourselves.
        const QByteArray pragmas = QStringLiteral("PRAGMA user_version = %1; PRAGMA application_id = %2;")
                                       .arg(step.fromVersion + 1).arg(applicationId).toUtf8();
        sql::exec(db, pragmas.constData(), what.constData());
        transaction.commit();
    }
}

}  // namespace mm::storage
