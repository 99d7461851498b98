// The library database: creation, migrations, refusal of foreign and newer files,
// documents and text ranges, FTS5 search, sessions, and two processes writing at once.
#include "storage/database.h"
#include "storage/schema.h"
#include "storage/sqlite_util.h"
#include "storage/text_offsets.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

using namespace mm::storage;

namespace {

// Runs SQL on a raw connection, for building files by hand.
void rawExec(const QString& path, const char* sqlText)
{
    sqlite3* db = nullptr;
    QVERIFY(sqlite3_open(QFile::encodeName(path).constData(), &db) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sqlText, nullptr, nullptr, &error);
    const QString message = error ? QString::fromUtf8(error) : QString();
    sqlite3_free(error);
    sqlite3_close(db);
    QVERIFY2(rc == SQLITE_OK, qPrintable(message));
}

qint64 rawInt(sqlite3* db, const char* sqlText)
{
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sqlText, -1, &stmt, nullptr) != SQLITE_OK)
        return -1;
    const qint64 value = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    return value;
}

QByteArray fileBytes(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString hashOf(const QString& s)
{
    return QString::fromLatin1(QCryptographicHash::hash(s.toUtf8(), QCryptographicHash::Sha256).toHex());
}

/// A document whose passages are its paragraphs (split on blank lines), one chapter per
/// "#" line. Offsets in code points.
NewDocument makeDocument(const QString& title, const QString& text, const QString& collection = {})
{
    NewDocument doc;
    doc.contentHash = hashOf(title + text);
    doc.title = title;
    doc.author = QStringLiteral("Test Author");
    doc.format = QStringLiteral("txt");
    doc.sourcePath = QStringLiteral("/tmp/") + title + QStringLiteral(".txt");
    doc.bytes = text.toUtf8().size();
    doc.text = text;
    doc.collection = collection;
    const CodePointIndex index(text);
    qint64 start = 0;
    int chapter = -1;
    while (start < text.size()) {
        qint64 end = text.indexOf(QStringLiteral("\n\n"), start);
        end = end < 0 ? text.size() : end + 2;
        if (text.mid(start, 1) == QLatin1String("#")) {
            doc.chapters.push_back({int(doc.chapters.size()), text.mid(start + 2, text.indexOf('\n', start) - start - 2),
                                    index.toCodePoint(start)});
            chapter = doc.chapters.size() - 1;
        }
        doc.passages.push_back({index.toCodePoint(start), index.toCodePoint(end), chapter});
        start = end;
    }
    return doc;
}

const QString kBookText = QStringLiteral(
    "# Arrival\n\n"
    "The coach rattled into the town square just before noon. Nobody came out to meet it.\n\n"
    "A dog barked twice and went back to sleep in the shade of the fountain.\n\n"
    "# The Inn\n\n"
    "The innkeeper polished the same glass for an hour. Outside, the rain began.\n\n"
    "Nobody in the town remembered the coach that had come at noon, except the dog.\n\n"
    "# Departure\n\n"
    "By morning the rain had stopped and the roads steamed under a pale sun.\n");

// --- the writer process for concurrentProcesses() -----------------------------------

int runWriter(const QString& path, const QString& tag, int count)
{
    try {
        Database db(path);
        for (int i = 0; i < count; ++i) {
            const QString text = QStringLiteral("Writer %1 wrote document %2 about harbours and lanterns.\n").arg(tag).arg(i);
            const auto added = db.addDocument(makeDocument(QStringLiteral("%1-%2").arg(tag).arg(i), text, tag));
            db.saveSession({added.docId, i, 0, QByteArray("state-") + tag.toUtf8()});
        }
        return 0;
    } catch (const std::exception& e) {
        fprintf(stderr, "writer %s failed: %s\n", qPrintable(tag), e.what());
        return 1;
    }
}

}  // namespace

class TestStorageDatabase : public QObject {
    Q_OBJECT

private slots:
    void init() { QVERIFY(m_dir.isValid()); }

    void createsFolderAndSchema()
    {
        const QString path = m_dir.filePath(QStringLiteral("nested/deeper/library.sqlite3"));
        {
            Database db(path);
            QCOMPARE(db.schemaVersion(), Database::kSchemaVersion);
            QCOMPARE(rawInt(db.handle(), "PRAGMA application_id"), qint64(Database::kApplicationId));
            QCOMPARE(rawInt(db.handle(), "PRAGMA user_version"), qint64(Database::kSchemaVersion));
            QCOMPARE(rawInt(db.handle(), "PRAGMA foreign_keys"), qint64(1));
            QCOMPARE(rawInt(db.handle(), "PRAGMA synchronous"), qint64(1));  // NORMAL
            QVERIFY(rawInt(db.handle(), "PRAGMA busy_timeout") >= 5000);
            QCOMPARE(rawInt(db.handle(), "PRAGMA cache_size"), qint64(-65536));  // 64 MB: the answer pipeline's pages
            QCOMPARE(rawInt(db.handle(), "PRAGMA mmap_size"), qint64(0));        // no mapping: I/O errors stay errors
            QCOMPARE(rawInt(db.handle(), "SELECT count(*) FROM sqlite_master WHERE name = 'passages_fts'"), qint64(1));
            QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
        }
        QVERIFY(QFile::exists(path));
        // Reopening an up-to-date library changes nothing and keeps its content.
        Database again(path);
        QCOMPARE(again.schemaVersion(), Database::kSchemaVersion);
        sqlite3_stmt* stmt = nullptr;
        QCOMPARE(sqlite3_prepare_v2(again.handle(), "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
        QCOMPARE(sqlite3_step(stmt), SQLITE_ROW);
        QCOMPARE(QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))), QStringLiteral("wal"));
        sqlite3_finalize(stmt);
    }

    void keptStatementsAreReusedAndNotShared()
    {
        // The connection's kept statements: the same query twice gives the same rows with
        // new bindings, a query made while the same one is open gets its own statement, and
        // a kept statement survives a schema change (SQLite prepares it again).
        Database db(m_dir.filePath(QStringLiteral("kept.sqlite3")));
        sql::exec(db.handle(), "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1), (2), (3);", "test table");
        static const char* const kSql = "SELECT x FROM t WHERE x >= ?1 ORDER BY x";
        auto rows = [&](qint64 from) {
            QList<qint64> out;
            sql::Statement s(db.statements(), kSql);
            s.bind(1, from);
            while (s.step())
                out << s.int64(0);
            return out;
        };
        QCOMPARE(rows(2), (QList<qint64>{2, 3}));
        QCOMPARE(rows(1), (QList<qint64>{1, 2, 3}));  // kept, reset, bound again
        {
            sql::Statement outer(db.statements(), kSql);
            outer.bind(1, qint64(1));
            QList<qint64> pairs;
            while (outer.step())
                pairs << outer.int64(0) * 10 + rows(3).size();  // the same query inside
            QCOMPARE(pairs, (QList<qint64>{11, 21, 31}));
        }
        sql::exec(db.handle(), "ALTER TABLE t ADD COLUMN y TEXT; INSERT INTO t(x) VALUES (4);", "schema change");
        QCOMPARE(rows(3), (QList<qint64>{3, 4}));
    }

    void migratesVersionZeroFile()
    {
        // A version-0 file: ours (application_id set) but with no tables yet, as a crash
        // between creating the file and the first migration would leave it.
        const QString path = m_dir.filePath(QStringLiteral("v0.sqlite3"));
        const QByteArray pragma = "PRAGMA application_id = " + QByteArray::number(Database::kApplicationId);
        rawExec(path, pragma.constData());
        Database db(path);
        QCOMPARE(db.schemaVersion(), Database::kSchemaVersion);
        const auto added = db.addDocument(makeDocument(QStringLiteral("Coach"), kBookText));
        QVERIFY(added.docId > 0);
    }

    void migratesVersionOneLibraryWithData()
    {
        // A library as version 1 wrote it: the whole text in document_text, passages
        // tiling it, a session; and one document with text but no passage.
        const QString path = m_dir.filePath(QStringLiteral("v1.sqlite3"));
        {
            sqlite3* raw = nullptr;
            QCOMPARE(sqlite3_open(QFile::encodeName(path).constData(), &raw), SQLITE_OK);
            migrate(raw, {migrationSteps().front()}, Database::kApplicationId);
            const char* rows = R"SQL(
INSERT INTO collections VALUES (1, 'Old', 1);
INSERT INTO documents VALUES (1, 1, 'h1', 'Coach', 'A', 'txt', '/tmp/c.txt', 30, 19, 0, 'imported', 1);
INSERT INTO document_text VALUES (1, 'The coach. Moon 🌙 x');
INSERT INTO chapters VALUES (1, 0, 'Only', 0);
INSERT INTO passages(doc_id, ordinal, chapter_ordinal, char_start, char_end, text) VALUES
    (1, 0, 0, 0, 11, 'The coach. '), (1, 1, 0, 11, 19, 'Moon 🌙 x');
INSERT INTO sessions VALUES (1, 12, 5, x'01');
INSERT INTO documents VALUES (2, NULL, 'h2', 'Bare', '', 'txt', '/tmp/b.txt', 9, 9, 0, 'imported', 2);
INSERT INTO document_text VALUES (2, 'bare text');
)SQL";
            QCOMPARE(sqlite3_exec(raw, rows, nullptr, nullptr, nullptr), SQLITE_OK);
            QCOMPARE(rawInt(raw, "PRAGMA user_version"), qint64(1));
            sqlite3_close(raw);
        }
        Database db(path);
        QCOMPARE(db.schemaVersion(), Database::kSchemaVersion);
        QCOMPARE(rawInt(db.handle(), "SELECT count(*) FROM sqlite_master WHERE name = 'document_text'"), qint64(0));
        QCOMPARE(db.documents().size(), 2);
        QCOMPARE(db.documentText(1), QStringLiteral("The coach. Moon 🌙 x"));
        QCOMPARE(db.documentText(1, 8, 17), QStringLiteral("h. Moon 🌙"));
        QCOMPARE(db.documentText(2), QStringLiteral("bare text"));
        const auto passages = db.passages(1);
        QCOMPARE(passages.size(), 2);
        QCOMPARE(passages[1].page, 0);
        QCOMPARE(db.passages(2).size(), 1);
        QCOMPARE(db.session(1)->position, qint64(12));
        QCOMPARE(db.search(QStringLiteral("coach")).size(), 1);
        QCOMPARE(db.search(QStringLiteral("coach"))[0].page, 0);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
    }

    void passagesMustTileTheText()
    {
        Database db(m_dir.filePath(QStringLiteral("tile.sqlite3")));
        NewDocument doc = makeDocument(QStringLiteral("Gap"), kBookText);
        doc.passages.removeAt(1);  // a gap: that text would be lost
        QVERIFY_THROWS_EXCEPTION(StorageError, db.addDocument(doc));
        doc = makeDocument(QStringLiteral("Short"), kBookText);
        doc.passages.removeLast();  // the end of the text in no passage
        QVERIFY_THROWS_EXCEPTION(StorageError, db.addDocument(doc));
        QVERIFY(db.documents().isEmpty());
        doc = makeDocument(QStringLiteral("None"), kBookText);
        doc.passages.clear();  // no passages: the text is one
        const auto added = db.addDocument(doc);
        QCOMPARE(db.passages(added.docId).size(), 1);
        QCOMPARE(db.documentText(added.docId), kBookText);
    }

    void documentWriterStoresPiecesInOneTransaction()
    {
        Database db(m_dir.filePath(QStringLiteral("writer.sqlite3")));
        {
            DocumentWriter writer(db, {QStringLiteral("w1"), QStringLiteral("Streamed"), QString(), QStringLiteral("txt"),
                                       QStringLiteral("/tmp/s.txt"), 100, QStringLiteral("Big")});
            QVERIFY(!writer.alreadyPresent());
            writer.addChapter(QStringLiteral("One"), 0);
            const PassageSpan a = writer.addPassage(QStringLiteral("First 🌙 part. "), 0, 3);
            QCOMPARE(a.charStart, qint64(0));
            QCOMPARE(a.charEnd, qint64(14));
            writer.addChapter(QStringLiteral("Two"), 14);
            const PassageSpan b = writer.addPassage(QStringLiteral("Second part."), 1, 4);
            QCOMPARE(b.charStart, qint64(14));
            // Not committed: nothing stays.
        }
        QVERIFY(db.documents().isEmpty());
        DocumentWriter writer(db, {QStringLiteral("w1"), QStringLiteral("Streamed"), QString(), QStringLiteral("txt"),
                                   QStringLiteral("/tmp/s.txt"), 100, QString()});
        writer.addChapter(QStringLiteral("One"), 0);
        writer.addPassage(QStringLiteral("First 🌙 part. "), 0, 3);
        writer.addPassage(QStringLiteral("Second part."), 0, 4);
        QVERIFY_THROWS_EXCEPTION(StorageError, writer.addPassage(QStringLiteral("x"), 5));
        const auto added = writer.commit();
        QCOMPARE(db.document(added.docId)->characters, qint64(26));
        QCOMPARE(db.documentText(added.docId, 11, 19), QStringLiteral("t. Secon"));
        QCOMPARE(db.passages(added.docId)[1].page, 4);
        QCOMPARE(db.search(QStringLiteral("second"))[0].page, 4);
        DocumentWriter again(db, {QStringLiteral("w1"), QStringLiteral("Other"), QString(), QStringLiteral("txt"),
                                  QStringLiteral("/tmp/s.txt"), 100, QString()});
        QVERIFY(again.alreadyPresent());
        QCOMPARE(again.docId(), added.docId);
        QVERIFY_THROWS_EXCEPTION(StorageError, again.addPassage(QStringLiteral("x"), -1));
    }

    void documentTextAcrossManyPassages()
    {
        // Every range of a text cut into many small passages comes back exact.
        Database db(m_dir.filePath(QStringLiteral("ranges.sqlite3")));
        QString text;
        for (int i = 0; i < 40; ++i)
            text += QStringLiteral("Line %1 🌊 waves.\n\n").arg(i);
        const auto added = db.addDocument(makeDocument(QStringLiteral("Waves"), text));
        const CodePointIndex index(text);
        const qint64 n = index.codePointCount();
        for (qint64 from = 0; from <= n; from += 7)
            for (qint64 to = from; to <= n; to += 13)
                QCOMPARE(db.documentText(added.docId, from, to),
                         text.mid(index.toUtf16(from), index.toUtf16(to) - index.toUtf16(from)));
        QCOMPARE(db.documentText(added.docId, n, n), QString());
        QVERIFY_THROWS_EXCEPTION(StorageError, db.documentText(added.docId, 3, 2));
    }

    void migrationStepsRunInOrderAndRollBackWhole()
    {
        const QString path = m_dir.filePath(QStringLiteral("steps.sqlite3"));
        Database db(path);  // at kSchemaVersion
        // A later step (as a v2 would add model states) applies on top of the shipped ones.
        std::vector<MigrationStep> steps = migrationSteps();
        QCOMPARE(int(steps.size()), Database::kSchemaVersion);
        steps.push_back({Database::kSchemaVersion, "CREATE TABLE later_states (doc_id INTEGER, state BLOB);"});
        migrate(db.handle(), steps, Database::kApplicationId);
        QCOMPARE(rawInt(db.handle(), "PRAGMA user_version"), qint64(Database::kSchemaVersion + 1));
        QCOMPARE(rawInt(db.handle(), "SELECT count(*) FROM sqlite_master WHERE name = 'later_states'"), qint64(1));

        // A step failing half-way leaves neither its first table nor a new version.
        steps.push_back({Database::kSchemaVersion + 1, "CREATE TABLE later_notes (id INTEGER); CREATE TABLE broken (;"});
        QVERIFY_THROWS_EXCEPTION(StorageError, migrate(db.handle(), steps, Database::kApplicationId));
        QCOMPARE(rawInt(db.handle(), "PRAGMA user_version"), qint64(Database::kSchemaVersion + 1));
        QCOMPARE(rawInt(db.handle(), "SELECT count(*) FROM sqlite_master WHERE name = 'later_notes'"), qint64(0));
    }

    void refusesNewerVersion()
    {
        const QString path = m_dir.filePath(QStringLiteral("newer.sqlite3"));
        { Database db(path); }
        const QByteArray pragma = QByteArray("PRAGMA user_version = ") + QByteArray::number(Database::kSchemaVersion + 1);
        rawExec(path, pragma.constData());
        const QByteArray before = fileBytes(path);
        QVERIFY(!before.isEmpty());
        try {
            Database db(path);
            QFAIL("a library from a newer version was opened");
        } catch (const StorageError& e) {
            const QString message = QString::fromStdString(e.what());
            QVERIFY2(message.contains(QStringLiteral("schema version %1").arg(Database::kSchemaVersion + 1)), qPrintable(message));
            QVERIFY2(message.contains(QStringLiteral("version %1").arg(Database::kSchemaVersion)), qPrintable(message));
            QVERIFY2(message.contains(QStringLiteral("upgrade")), qPrintable(message));
        }
        QCOMPARE(fileBytes(path), before);
    }

    void refusesForeignSqliteFile()
    {
        const QString path = m_dir.filePath(QStringLiteral("other.sqlite3"));
        rawExec(path, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('x');");
        const QByteArray before = fileBytes(path);
        try {
            Database db(path);
            QFAIL("a foreign SQLite file was opened");
        } catch (const StorageError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("not a MemMamba library")), e.what());
        }
        QCOMPARE(fileBytes(path), before);

        const QString otherApp = m_dir.filePath(QStringLiteral("otherapp.sqlite3"));
        rawExec(otherApp, "PRAGMA application_id = 1234;");
        try {
            Database db(otherApp);
            QFAIL("a file of another application was opened");
        } catch (const StorageError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("another application")), e.what());
        }
    }

    void refusesGarbageFile()
    {
        const QString path = m_dir.filePath(QStringLiteral("garbage.sqlite3"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
        f.close();
        try {
            Database db(path);
            QFAIL("a garbage file was opened");
        } catch (const StorageError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("not an SQLite database")), e.what());
        }
        QCOMPARE(fileBytes(path), QByteArray(4096, 'x'));
    }

    void documentsChaptersPassagesAndText()
    {
        Database db(m_dir.filePath(QStringLiteral("docs.sqlite3")));
        const NewDocument doc = makeDocument(QStringLiteral("Coach"), kBookText, QStringLiteral("Novels"));
        const auto added = db.addDocument(doc);
        QVERIFY(!added.alreadyPresent);
        const auto again = db.addDocument(doc);
        QVERIFY(again.alreadyPresent);
        QCOMPARE(again.docId, added.docId);
        QCOMPARE(db.documents().size(), 1);

        const auto record = db.document(added.docId);
        QVERIFY(record);
        QCOMPARE(record->title, QStringLiteral("Coach"));
        QCOMPARE(record->characters, qint64(kBookText.size()));
        QCOMPARE(record->status, QStringLiteral("imported"));
        QCOMPARE(db.documentByHash(doc.contentHash), std::optional<qint64>(added.docId));

        const auto collections = db.collections();
        QCOMPARE(collections.size(), 1);
        QCOMPARE(collections[0].name, QStringLiteral("Novels"));
        QCOMPARE(collections[0].documentCount, qint64(1));
        QCOMPARE(db.documents(collections[0].id).size(), 1);
        QCOMPARE(db.ensureCollection(QStringLiteral("Novels")), collections[0].id);

        QCOMPARE(db.documentText(added.docId), kBookText);
        QCOMPARE(db.documentText(added.docId, 2, 9), QStringLiteral("Arrival"));
        QVERIFY_THROWS_EXCEPTION(StorageError, db.documentText(added.docId, 5, kBookText.size() + 1));
        QVERIFY_THROWS_EXCEPTION(StorageError, db.documentText(added.docId + 100));

        const auto chapters = db.chapters(added.docId);
        QCOMPARE(chapters.size(), 3);
        QCOMPARE(chapters[1].title, QStringLiteral("The Inn"));
        const auto passages = db.passages(added.docId);
        QCOMPARE(passages.size(), doc.passages.size());
        for (const PassageRecord& p : passages)
            QCOMPARE(p.text, db.documentText(added.docId, p.charStart, p.charEnd));

        db.setDocumentStatus(added.docId, QStringLiteral("ready"));
        db.setDocumentTokens(added.docId, 1234);
        QCOMPARE(db.document(added.docId)->status, QStringLiteral("ready"));
        QCOMPARE(db.document(added.docId)->tokens, qint64(1234));
        QVERIFY_THROWS_EXCEPTION(StorageError, db.setDocumentStatus(added.docId + 100, QStringLiteral("x")));

        db.saveSession({added.docId, 42, 0, QByteArray("ui")});
        db.removeDocument(added.docId);
        QVERIFY(!db.document(added.docId));
        QVERIFY(db.passages(added.docId).isEmpty());
        QVERIFY(!db.session(added.docId));
        QVERIFY(db.search(QStringLiteral("coach")).isEmpty());
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
    }

    void rejectsInconsistentDocumentWhole()
    {
        Database db(m_dir.filePath(QStringLiteral("bad.sqlite3")));
        NewDocument doc = makeDocument(QStringLiteral("Bad"), kBookText);
        doc.passages.push_back({0, kBookText.size() + 5, -1});
        QVERIFY_THROWS_EXCEPTION(StorageError, db.addDocument(doc));
        QVERIFY(db.documents().isEmpty());
        QVERIFY(!db.documentByHash(doc.contentHash));
    }

    void surrogatePairsKeepCodePointOffsets()
    {
        Database db(m_dir.filePath(QStringLiteral("emoji.sqlite3")));
        const QString text = QStringLiteral("Sun \U0001F31E and moon \U0001F319 rise.\n\nThe \U0001D4D0 letter follows.\n");
        const auto added = db.addDocument(makeDocument(QStringLiteral("Emoji"), text));
        const CodePointIndex index(text);
        QCOMPARE(db.document(added.docId)->characters, index.codePointCount());
        QCOMPARE(index.codePointCount(), qint64(text.size() - 3));
        const qint64 moon = index.toCodePoint(text.indexOf(QStringLiteral("moon")));
        QCOMPARE(db.documentText(added.docId, moon, moon + 6), QStringLiteral("moon \U0001F319"));
        for (const PassageRecord& p : db.passages(added.docId))
            QCOMPARE(p.text, db.documentText(added.docId, p.charStart, p.charEnd));
    }

    void codePointIndex()
    {
        const QString plain = QStringLiteral("abc");
        CodePointIndex flat(plain);
        QCOMPARE(flat.toCodePoint(2), qint64(2));
        QCOMPARE(flat.toUtf16(9), qint64(3));  // clamped
        const QString text = QStringLiteral("a\U0001F600b\U0001F600\U0001F600c");
        // UTF-16: a=0, pair 1-2, b=3, pair 4-5, pair 6-7, c=8; code points a b c at 0 2 5.
        CodePointIndex index(text);
        QCOMPARE(index.codePointCount(), qint64(6));
        const qint64 utf16[] = {0, 1, 3, 4, 6, 8, 9};
        for (int cp = 0; cp <= 6; ++cp) {
            QCOMPARE(index.toUtf16(cp), utf16[cp]);
            QCOMPARE(index.toCodePoint(utf16[cp]), qint64(cp));
        }
        QCOMPARE(index.toCodePoint(2), qint64(1));  // inside a pair: rounds down
        QCOMPARE(index.toCodePoint(-4), qint64(0));
    }

    void searchFindsPassageWithOffsets()
    {
        Database db(m_dir.filePath(QStringLiteral("search.sqlite3")));
        const auto coach = db.addDocument(makeDocument(QStringLiteral("Coach"), kBookText));
        const auto other = db.addDocument(makeDocument(
            QStringLiteral("Other"), QStringLiteral("# One\n\nThe dog slept. The rain, began outside and nobody came.\n\n"
                                                    "Rain and dogs and coaches everywhere.\n")));
        const QString sentence = QStringLiteral("Outside, the rain began.");
        const auto hits = db.search(sentence);
        QVERIFY(!hits.isEmpty());
        const SearchHit& top = hits.first();
        QCOMPARE(top.docId, coach.docId);
        QCOMPARE(top.docTitle, QStringLiteral("Coach"));
        QCOMPARE(top.chapterTitle, QStringLiteral("The Inn"));
        QCOMPARE(top.chapterIndex, 1);
        QCOMPARE(db.documentText(top.docId, top.charStart, top.charEnd), top.text);
        QVERIFY(top.text.contains(sentence));
        QVERIFY2(top.snippet.contains(QStringLiteral("[Outside, the rain began]")), qPrintable(top.snippet));
        // The other book holds all the words but not the phrase: it ranks after.
        bool sawOther = false;
        for (const SearchHit& h : hits)
            sawOther = sawOther || h.docId == other.docId;
        QVERIFY(sawOther);
        QVERIFY(hits.first().score > hits.last().score);
        QSet<qint64> ids;
        for (const SearchHit& h : hits)
            ids.insert(h.passageId);
        QCOMPARE(ids.size(), hits.size());  // no duplicates

        // Porter stemming: "coaches" finds "coach".
        QVERIFY(!db.search(QStringLiteral("coaches"), 20, coach.docId).isEmpty());
        // Diacritics are folded: "naive" finds "naïve".
        const auto accent = db.addDocument(makeDocument(QStringLiteral("Accent"), QStringLiteral("A na\u00EFve sailor.\n")));
        QCOMPARE(db.search(QStringLiteral("naive sailor")).first().docId, accent.docId);
        // The doc filter.
        for (const SearchHit& h : db.search(QStringLiteral("rain"), 20, other.docId))
            QCOMPARE(h.docId, other.docId);
        QCOMPARE(db.search(QStringLiteral("rain"), 1).size(), 1);
    }

    void searchSurvivesHostileInput()
    {
        Database db(m_dir.filePath(QStringLiteral("hostile.sqlite3")));
        db.addDocument(makeDocument(QStringLiteral("Coach"), kBookText));
        const QStringList inputs = {QStringLiteral("\""), QStringLiteral("AND OR"), QStringLiteral("*"),
                                    QStringLiteral("NEAR("), QStringLiteral("rain)"), QStringLiteral("-dog"),
                                    QStringLiteral("col:rain"), QStringLiteral("'; DROP TABLE passages; --"),
                                    QStringLiteral("^the"), QString(), QStringLiteral("   "), QStringLiteral("\"rain")};
        for (const QString& input : inputs) {
            try {
                db.search(input);
            } catch (const std::exception& e) {
                QFAIL(qPrintable(QStringLiteral("search(%1) threw: %2").arg(input, QString::fromUtf8(e.what()))));
            }
        }
        QVERIFY(!db.search(QStringLiteral("\"rain")).isEmpty());
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
    }

    void sessions()
    {
        Database db(m_dir.filePath(QStringLiteral("sessions.sqlite3")));
        const auto a = db.addDocument(makeDocument(QStringLiteral("A"), kBookText));
        const auto b = db.addDocument(makeDocument(QStringLiteral("B"), kBookText + QStringLiteral("x")));
        QVERIFY(!db.lastSession());
        db.saveSession({a.docId, 10, 1000, QByteArray("one")});
        db.saveSession({b.docId, 20, 2000, QByteArray()});
        db.saveSession({a.docId, 30, 3000, QByteArray("two")});
        QCOMPARE(db.session(a.docId)->position, qint64(30));
        QCOMPARE(db.session(a.docId)->uiState, QByteArray("two"));
        QCOMPARE(db.lastSession()->docId, a.docId);
        try {
            db.saveSession({a.docId + 100, 1, 0, {}});
            QFAIL("a session for a missing document was saved");
        } catch (const StorageError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("no document")), e.what());
        }
    }

    void concurrentProcesses()
    {
        // Two processes open the same new library at once (both race to migrate it) and
        // each adds documents and sessions: nothing may be lost or corrupted.
        const QString path = m_dir.filePath(QStringLiteral("shared/library.sqlite3"));
        const int perWriter = 400;
        QList<QProcess*> writers;
        for (const QString& tag : {QStringLiteral("alpha"), QStringLiteral("beta")}) {
            auto* p = new QProcess(this);
            p->setProcessChannelMode(QProcess::ForwardedChannels);
            p->start(QCoreApplication::applicationFilePath(),
                     {QStringLiteral("--writer"), path, tag, QString::number(perWriter)});
            writers << p;
        }
        for (QProcess* p : writers) {
            QVERIFY(p->waitForFinished(240000));
            QCOMPARE(p->exitStatus(), QProcess::NormalExit);
            QCOMPARE(p->exitCode(), 0);
        }
        Database db(path);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
        QCOMPARE(db.documents().size(), 2 * perWriter);
        QCOMPARE(rawInt(db.handle(), "SELECT count(*) FROM sessions"), qint64(2 * perWriter));
        QCOMPARE(db.collections().size(), 2);
        for (const CollectionRecord& c : db.collections())
            QCOMPARE(c.documentCount, qint64(perWriter));
        QCOMPARE(db.search(QStringLiteral("Writer beta wrote document 149")).first().docTitle, QStringLiteral("beta-149"));
    }

    void defaultPathIsInAppData()
    {
        QVERIFY(defaultDatabasePath().endsWith(QStringLiteral("/library.sqlite3")));
    }

private:
    QTemporaryDir m_dir;
};

int main(int argc, char** argv)
{
    if (argc == 5 && qstrcmp(argv[1], "--writer") == 0)
        return runWriter(QString::fromLocal8Bit(argv[2]), QString::fromLocal8Bit(argv[3]), atoi(argv[4]));
    QCoreApplication app(argc, argv);
    TestStorageDatabase test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_storage_database.moc"
