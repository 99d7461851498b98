// Schema version 3 (the model's memory) in storage: the migration from version 2 keeps
// every document, and MemoryStore's runs, steps, checkpoints, blocks, truncation and
// producer replacement, with blobs opaque to storage.
#include "storage/database.h"
#include "storage/memory_store.h"
#include "storage/schema.h"
#include "storage/sqlite_util.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

using namespace mm::storage;

namespace {

qint64 rawInt(sqlite3* db, const char* sqlText) { return sql::queryInt(db, sqlText); }

CheckpointRecord checkpoint(const QString& producer, qint64 position, const QByteArray& blob)
{
    CheckpointRecord c;
    c.fingerprint = producer;
    c.position = position;
    c.charOffset = position * 4;
    c.kind = QStringLiteral("periodic");
    c.formatVersion = 1;
    c.codec = QStringLiteral("zstd");
    c.rawBytes = blob.size() * 2;
    c.checksum = QStringLiteral("sum-%1").arg(position);
    c.blob = blob;
    return c;
}

MemoryBlockRecord block(const QString& producer, qint64 first, qint64 end)
{
    MemoryBlockRecord b;
    b.fingerprint = producer;
    b.firstPosition = first;
    b.endPosition = end;
    b.charStart = first * 4;
    b.charEnd = end * 4;
    b.formatVersion = 1;
    b.codec = QStringLiteral("zstd");
    b.rawBytes = 10;
    b.checksum = QStringLiteral("b");
    b.data = QByteArray("block-") + QByteArray::number(first);
    return b;
}

}  // namespace

class TestStorageMemory : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    qint64 addDoc(Database& db, const QString& hash)
    {
        NewDocument d;
        d.contentHash = hash;
        d.title = QStringLiteral("Book ") + hash;
        d.format = QStringLiteral("txt");
        d.sourcePath = QStringLiteral("/tmp/") + hash;
        d.text = QStringLiteral("Chapter one. The captain watched the harbour wall.");
        return db.addDocument(d).docId;
    }

private slots:
    void migratesVersionTwoLibrary()
    {
        const QString path = m_dir.filePath(QStringLiteral("v2.sqlite3"));
        {
            sqlite3* raw = nullptr;
            QCOMPARE(sqlite3_open(QFile::encodeName(path).constData(), &raw), SQLITE_OK);
            const std::vector<MigrationStep> v2(migrationSteps().begin(), migrationSteps().begin() + 2);
            migrate(raw, v2, Database::kApplicationId);
            QCOMPARE(rawInt(raw, "PRAGMA user_version"), qint64(2));
            const char* rows = R"SQL(
INSERT INTO documents VALUES (1, NULL, 'h1', 'Coach', 'A', 'txt', '/tmp/c.txt', 30, 19, 0, 'imported', 1);
INSERT INTO chapters VALUES (1, 0, 'Only', 0);
INSERT INTO passages(doc_id, ordinal, chapter_ordinal, char_start, char_end, text, page) VALUES
    (1, 0, 0, 0, 11, 'The coach. ', NULL), (1, 1, 0, 11, 19, 'Moon 🌙 x', NULL);
INSERT INTO sessions VALUES (1, 12, 5, x'01');
)SQL";
            QCOMPARE(sqlite3_exec(raw, rows, nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(raw);
        }
        Database db(path);
        QCOMPARE(db.schemaVersion(), Database::kSchemaVersion);
        QCOMPARE(Database::kSchemaVersion, 5);
        for (const char* table : {"model_states", "memory_blocks", "memory_runs", "answers"}) {
            const QByteArray q = QByteArray("SELECT count(*) FROM sqlite_master WHERE name = '") + table + "'";
            QCOMPARE(rawInt(db.handle(), q.constData()), qint64(1));
        }
        QCOMPARE(db.documentText(1), QStringLiteral("The coach. Moon 🌙 x"));
        QCOMPARE(db.document(1)->status, QStringLiteral("imported"));
        QCOMPARE(db.session(1)->position, qint64(12));
        QCOMPARE(db.search(QStringLiteral("coach")).size(), 1);
        MemoryStore store(db);
        QVERIFY(!store.run(1));
        QVERIFY(store.producers(1).isEmpty());
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
    }

    void stepsCheckpointsAndBlocks()
    {
        Database db(m_dir.filePath(QStringLiteral("memory.sqlite3")));
        const qint64 doc = addDoc(db, QStringLiteral("m1"));
        MemoryStore store(db);
        const QString a = QStringLiteral("mm1:aaaa|spm:1");
        MemoryRun run = store.beginRun(doc, a, 300, QStringLiteral("{\"checkpoint_every\":100}"));
        QCOMPARE(run.doneTokens, qint64(0));
        QCOMPARE(db.document(doc)->status, QStringLiteral("reading"));
        store.commitStep(doc, block(a, 0, 100), checkpoint(a, 100, "s100"), false);
        store.commitStep(doc, block(a, 100, 200), checkpoint(a, 200, "s200"), false);
        QCOMPARE(store.run(doc)->doneTokens, qint64(200));
        QCOMPARE(store.checkpoints(doc, a).size(), 2);
        QVERIFY(store.checkpoints(doc, a)[0].blob.isEmpty());  // listed without blobs
        QCOMPARE(store.checkpoints(doc, a)[0].storedBytes, qint64(4));
        const auto cp = store.checkpointAtOrBefore(doc, a, 150);
        QVERIFY(cp && cp->position == 100);
        QCOMPARE(store.checkpointBlob(cp->id), QByteArray("s100"));
        QVERIFY(!store.checkpointAtOrBefore(doc, a, 99));
        QCOMPARE(store.blocks(doc, a, 150, 160).size(), 1);
        QCOMPARE(store.blocks(doc, a, 150, 160)[0].data, QByteArray("block-100"));
        QVERIFY(store.blocks(doc, a, 0, 1000, false)[0].data.isEmpty());
        QCOMPARE(store.blockAtChar(doc, a, 450)->firstPosition, qint64(100));
        // A checkpoint must close its block.
        QVERIFY_THROWS_EXCEPTION(StorageError, store.commitStep(doc, block(a, 200, 300), checkpoint(a, 250, "x"), true));
        QCOMPARE(store.run(doc)->doneTokens, qint64(200));
        // Resume: continuing the same run keeps what is stored; truncation drops the tail.
        run = store.beginRun(doc, a, 300, QStringLiteral("{}"));
        QCOMPARE(run.doneTokens, qint64(200));
        store.truncateAfter(doc, a, 100);
        QCOMPARE(store.checkpoints(doc, a).size(), 1);
        QCOMPARE(store.blocks(doc, a).size(), 1);
        QCOMPARE(store.run(doc)->doneTokens, qint64(100));
        store.commitStep(doc, block(a, 100, 300), checkpoint(a, 300, "s300"), true);
        QCOMPARE(db.document(doc)->status, QStringLiteral("ready"));
        QCOMPARE(db.document(doc)->tokens, qint64(300));
        const MemoryUsage u = store.usage(doc);
        QCOMPARE(u.checkpoints, qint64(2));
        QCOMPARE(u.blocks, qint64(2));
        QVERIFY(u.blockBytes > 0 && u.checkpointBytes > 0);

        // Another producer: its run replaces every trace of the first.
        const QString b = QStringLiteral("mm1:bbbb|spm:1");
        QCOMPARE(store.producers(doc), QStringList{a});
        store.beginRun(doc, b, 280, QStringLiteral("{}"));
        QVERIFY(store.checkpoints(doc, a).isEmpty());
        QVERIFY(store.blocks(doc, a).isEmpty());
        QCOMPARE(store.run(doc)->fingerprint, b);
        // Removing the document removes its memory (ON DELETE CASCADE).
        store.commitStep(doc, block(b, 0, 280), checkpoint(b, 280, "t"), true);
        db.removeDocument(doc);
        QCOMPARE(rawInt(db.handle(), "SELECT count(*) FROM model_states"), qint64(0));
        QCOMPARE(rawInt(db.handle(), "SELECT count(*) FROM memory_blocks"), qint64(0));
        QCOMPARE(rawInt(db.handle(), "SELECT count(*) FROM memory_runs"), qint64(0));
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
    }

    void answersHistory()
    {
        Database db(m_dir.filePath(QStringLiteral("answers.sqlite3")));
        const qint64 doc = addDoc(db, QStringLiteral("q1"));
        MemoryStore store(db);
        AnswerRow a;
        a.docId = doc;
        a.askedAtMs = 1000;
        a.question = QStringLiteral("Who watched the wall? 🌙");
        a.asOfChar = 120;
        a.answer = QStringLiteral("The cap");
        const qint64 id = store.saveAnswer(a);
        QVERIFY(id > 0);
        AnswerRow b;
        b.docId = doc;
        b.askedAtMs = 2000;
        b.question = QStringLiteral("And then?");
        store.saveAnswer(b);
        a.id = id;
        a.answer = QStringLiteral("The captain.");
        a.evidenceJson = QStringLiteral("[{\"source\":\"note\"}]");
        a.finished = true;
        a.position = 37;
        a.chapterIndex = 2;
        a.chapterTitle = QStringLiteral("CHAPTER III");
        a.model = QStringLiteral("mm1:abc");
        a.supportJson = QStringLiteral("{\"text\":\"x\"}");
        a.askId = 9;
        a.format = 2;
        QCOMPARE(store.saveAnswer(a), id);
        const auto all = store.answers(doc);
        QCOMPARE(all.size(), 2);
        QCOMPARE(all[0].answer, QStringLiteral("The captain."));
        QCOMPARE(all[0].question, a.question);
        QCOMPARE(all[0].asOfChar, qint64(120));
        QVERIFY(all[0].finished && !all[0].cancelled);
        QCOMPARE(all[0].evidenceJson, a.evidenceJson);
        QCOMPARE(all[1].asOfChar, qint64(-1));
        // The record's columns (schema 5): kept as given; a row saved without them has
        // the defaults, and format 1 until rewritten.
        QCOMPARE(all[0].position, qint64(37));
        QCOMPARE(all[0].chapterIndex, 2);
        QCOMPARE(all[0].chapterTitle, a.chapterTitle);
        QCOMPARE(all[0].model, a.model);
        QCOMPARE(all[0].supportJson, a.supportJson);
        QCOMPARE(all[0].askId, qint64(9));
        QCOMPARE(all[0].format, 2);
        QCOMPARE(all[1].position, qint64(-1));
        QCOMPARE(all[1].format, 1);
        const auto old = store.answersBelowFormat(2);
        QCOMPARE(old.size(), 1);
        QCOMPARE(old[0].question, b.question);
        a.id = 999;
        QVERIFY_THROWS_EXCEPTION(StorageError, store.saveAnswer(a));
        db.removeDocument(doc);
        QVERIFY(store.answers(doc).isEmpty());
    }

    void removeMemoryResetsTheDocument()
    {
        Database db(m_dir.filePath(QStringLiteral("remove.sqlite3")));
        const qint64 doc = addDoc(db, QStringLiteral("r1"));
        MemoryStore store(db);
        const QString a = QStringLiteral("p");
        store.beginRun(doc, a, 100, QStringLiteral("{}"));
        store.commitStep(doc, block(a, 0, 100), checkpoint(a, 100, "s"), true);
        store.removeMemory(doc);
        QCOMPARE(db.document(doc)->status, QStringLiteral("imported"));
        QCOMPARE(db.document(doc)->tokens, qint64(0));
        QVERIFY(!store.run(doc));
        QVERIFY_THROWS_EXCEPTION(StorageError, store.beginRun(9999, a, 1, QStringLiteral("{}")));
    }
};

QTEST_GUILESS_MAIN(TestStorageMemory)
#include "tst_storage_memory.moc"
