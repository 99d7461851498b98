// The library shared by processes, through the real `memmamba` binary:
// - `memmamba import` killed with SIGKILL at random moments (whole-file and streamed
//   imports): the library passes its integrity checks, what was there before is intact,
//   the book is either absent or complete, and importing again completes it;
// - two imports of different books into one library at once, with a third process
//   listing and searching meanwhile: both books complete, every command succeeds (the
//   second writer waits for the first), integrity clean;
// - Ctrl-C during an import: cancelled cleanly, nothing of that book stored;
// - a writer holding the library past the busy timeout: `memmamba import` says the
//   library is busy and changes nothing, while `memmamba list` still reads.
#include "storage/database.h"
#include "storage/import/importer.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

#include <algorithm>
#include <csignal>

using mm::storage::Database;

namespace {

/// A generated book of about `megabytes` MB with chapters; seed makes it unique.
void writeBook(const QString& path, int megabytes, quint32 seed)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    QRandomGenerator rng(seed);
    const QList<QByteArray> words = {"harbour", "lantern", "tide", "caf\xC3\xA9", "keeper", "storm", "gull", "rope", "wall",
                                     "na\xC3\xAFve", "moon \xF0\x9F\x8C\x99", "curate"};
    QByteArray out = "THE BOOK OF SEED " + QByteArray::number(seed) + "\n\nby A. Generator\n\n\n";
    int chapter = 0;
    while (file.size() + out.size() < qint64(megabytes) * 1024 * 1024) {
        out += "CHAPTER " + QByteArray::number(++chapter) + ".\n\n";
        for (int p = 0; p < 30; ++p) {
            for (int w = 0; w < 80 + int(rng.bounded(80)); ++w)
                out += words[int(rng.bounded(words.size()))] + ((w % 14 == 13) ? ".\n" : " ");
            out += "\n\n";
        }
        if (out.size() > (1 << 20)) {
            file.write(out);
            out.clear();
        }
    }
    file.write(out);
}

struct Finished {
    int exitCode = -1;
    QProcess::ExitStatus status = QProcess::CrashExit;
    QByteArray out;
    QByteArray err;
};

Finished finish(QProcess& p, int timeoutMs = 120000)
{
    if (p.state() != QProcess::NotRunning && !p.waitForFinished(timeoutMs))
        qFatal("memmamba %s did not finish", qPrintable(p.arguments().join(' ')));
    return {p.exitCode(), p.exitStatus(), p.readAllStandardOutput(), p.readAllStandardError()};
}

void startCli(QProcess& p, const QStringList& args)
{
    p.start(QStringLiteral(MEMMAMBA_CLI), args);
    if (!p.waitForStarted())
        qFatal("cannot start memmamba");
}

Finished runCli(const QStringList& args)
{
    QProcess p;
    startCli(p, args);
    return finish(p);
}

}  // namespace

class TestStorageProcesses : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    /// The characters and passages of a clean import of book, in its own library.
    std::pair<qint64, int> reference(const QString& book)
    {
        Database db(m_dir.filePath(QStringLiteral("reference-%1.sqlite3").arg(QFileInfo(book).baseName())));
        const mm::import::ImportResult r = mm::import::importFile(db, book);
        return {r.characters, r.passages};
    }

    /// Integrity, the document imported before intact, book absent or whole.
    void checkLibrary(const QString& dbPath, const QString& book, qint64 characters, int passages,
                      const QString& keptText, bool mustHaveBook, const QString& where)
    {
        Database db(dbPath);
        QVERIFY2(db.integrityCheck() == QStringLiteral("ok"), qPrintable(where + QStringLiteral(": ") + db.integrityCheck()));
        QCOMPARE(db.documentText(1), keptText);
        const std::optional<qint64> id = db.documentByHash(mm::import::fileContentHash(book));
        if (mustHaveBook)
            QVERIFY2(id, qPrintable(where));
        if (id) {
            QVERIFY2(db.document(*id)->characters == characters, qPrintable(where));
            QVERIFY2(db.passageCount(*id) == passages, qPrintable(where));
            QCOMPARE(db.documentText(*id, characters - 10).size(), 10);
        }
        QCOMPARE(db.documents().size(), id ? 2 : 1);
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void killedImportsLeaveTheLibraryWhole_data()
    {
        QTest::addColumn<int>("megabytes");
        QTest::addColumn<int>("kills");
        QTest::newRow("whole-file import, 6 MB") << 6 << 8;
        // Above 32 MB plain text is streamed: one long transaction fed piece by piece.
        QTest::newRow("streamed import, 34 MB") << 34 << 4;
    }

    void killedImportsLeaveTheLibraryWhole()
    {
        QFETCH(int, megabytes);
        QFETCH(int, kills);
        const QString book = m_dir.filePath(QStringLiteral("killed-%1.txt").arg(megabytes));
        writeBook(book, megabytes, quint32(megabytes));
        const auto [characters, passages] = reference(book);
        QString dbPath = m_dir.filePath(QStringLiteral("killed-%1.sqlite3").arg(megabytes));
        QCOMPARE(runCli({QStringLiteral("import"), QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/lanterns.txt"),
                         QStringLiteral("--db"), dbPath}).exitCode, 0);
        const QString kept = Database(dbPath).documentText(1);

        // How long a whole import takes here, in a library of its own.
        QElapsedTimer timer;
        timer.start();
        const QString timingDb = m_dir.filePath(QStringLiteral("timing-%1.sqlite3").arg(megabytes));
        QCOMPARE(runCli({QStringLiteral("import"), book, QStringLiteral("--db"), timingDb}).exitCode, 0);
        int fullMs = int(timer.elapsed());

        // Kill moments fall in the first 60% of the measured time: a run here can be
        // faster than the timing run (a warmer page cache, a quieter machine), and a
        // moment near the end would often find it finished, so no kill would land.
        QRandomGenerator rng(99);
        int killedMidway = 0;
        int fresh = 0;
        for (int k = 0; k < kills; ++k) {
            const int afterMs = int(qint64(fullMs) * (5 + int(rng.bounded(55))) / 100);
            QProcess p;
            startCli(p, {QStringLiteral("import"), book, QStringLiteral("--db"), dbPath});
            if (!p.waitForFinished(afterMs)) {
                p.kill();  // SIGKILL: no handler, no destructor, no rollback of its own
                ++killedMidway;
            }
            const Finished f = finish(p);
            const QString where = QStringLiteral("kill %1 after %2 ms of about %3 ms").arg(k).arg(afterMs).arg(fullMs);
            checkLibrary(dbPath, book, characters, passages, kept, false, where);
            if (QTest::currentTestFailed())
                return;
            if (f.status == QProcess::NormalExit) {
                if (killedMidway > 0 || fresh == 3)
                    break;  // it finished before the kill: the book is whole
                // Finished before any kill landed: start again on a fresh library, earlier.
                dbPath = m_dir.filePath(QStringLiteral("killed-%1-fresh%2.sqlite3").arg(megabytes).arg(++fresh));
                QCOMPARE(runCli({QStringLiteral("import"), QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/lanterns.txt"),
                                 QStringLiteral("--db"), dbPath}).exitCode, 0);
                fullMs = std::max(fullMs / 2, 50);
            }
        }
        QVERIFY(killedMidway > 0);
        // Importing again completes the book.
        const Finished again = runCli({QStringLiteral("import"), book, QStringLiteral("--db"), dbPath});
        QVERIFY2(again.exitCode == 0, again.err.constData());
        checkLibrary(dbPath, book, characters, passages, kept, true, QStringLiteral("after the kills"));
        qInfo("%d MB: %d imports killed at random moments of about %d ms, library whole each time", megabytes, killedMidway, fullMs);
    }

    void interruptCancelsCleanly()
    {
        // Ctrl-C (SIGINT) during a streamed import: it stops within a second, says so,
        // exits 130, and stores nothing of that book; the library stays whole.
        const QString book = m_dir.filePath(QStringLiteral("interrupted.txt"));
        writeBook(book, 34, 21);
        const QString dbPath = m_dir.filePath(QStringLiteral("interrupted.sqlite3"));
        QCOMPARE(runCli({QStringLiteral("import"), QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/lanterns.txt"),
                         QStringLiteral("--db"), dbPath}).exitCode, 0);
        QProcess p;
        startCli(p, {QStringLiteral("import"), book, QStringLiteral("--db"), dbPath});
        QByteArray err;
        QElapsedTimer waited;
        waited.start();
        while (!err.contains("storing") && waited.elapsed() < 60000 && p.state() != QProcess::NotRunning) {
            p.waitForReadyRead(100);
            err += p.readAllStandardError();
        }
        QVERIFY2(err.contains("storing"), err.constData());
        QElapsedTimer stopping;
        stopping.start();
        QCOMPARE(::kill(pid_t(p.processId()), SIGINT), 0);
        const Finished f = finish(p);
        const qint64 stopMs = stopping.elapsed();
        QCOMPARE(f.status, QProcess::NormalExit);
        QCOMPARE(f.exitCode, 130);
        QVERIFY2(f.err.contains("import cancelled: '" + book.toUtf8() + "' was not stored"), f.err.right(300).constData());
        QVERIFY2(stopMs < 3000, qPrintable(QString::number(stopMs)));
        Database db(dbPath);
        QCOMPARE(db.documents().size(), 1);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
        qInfo("SIGINT while storing: stopped %lld ms later, nothing stored", stopMs);
    }

    void twoWritersAndAReader()
    {
        const QString dbPath = m_dir.filePath(QStringLiteral("shared.sqlite3"));
        QCOMPARE(runCli({QStringLiteral("import"), QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/lanterns.txt"),
                         QStringLiteral("--db"), dbPath}).exitCode, 0);
        const QString kept = Database(dbPath).documentText(1);
        const QString bookA = m_dir.filePath(QStringLiteral("shared-a.txt"));
        const QString bookB = m_dir.filePath(QStringLiteral("shared-b.txt"));
        writeBook(bookA, 5, 11);
        writeBook(bookB, 5, 12);

        QProcess a;
        QProcess b;
        startCli(a, {QStringLiteral("import"), bookA, QStringLiteral("--db"), dbPath, QStringLiteral("--json")});
        startCli(b, {QStringLiteral("import"), bookB, QStringLiteral("--db"), dbPath, QStringLiteral("--json")});
        // A reader meanwhile: it never waits for the writers (WAL) and never fails.
        int reads = 0;
        while (a.state() != QProcess::NotRunning || b.state() != QProcess::NotRunning) {
            const Finished list = runCli({QStringLiteral("list"), QStringLiteral("--db"), dbPath, QStringLiteral("--json")});
            QVERIFY2(list.exitCode == 0, list.err.constData());
            const Finished search = runCli({QStringLiteral("search"), QStringLiteral("harbour lantern"),
                                            QStringLiteral("--db"), dbPath, QStringLiteral("--json")});
            QVERIFY2(search.exitCode == 0, search.err.constData());
            ++reads;
            a.waitForFinished(50);
            b.waitForFinished(50);
        }
        const Finished fa = finish(a);
        const Finished fb = finish(b);
        QVERIFY2(fa.exitCode == 0, fa.err.constData());
        QVERIFY2(fb.exitCode == 0, fb.err.constData());
        QVERIFY(reads > 0);

        Database db(dbPath);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
        QCOMPARE(db.documents().size(), 3);
        QCOMPARE(db.documentText(1), kept);
        for (const auto& [finished, book] : {std::pair{fa, bookA}, std::pair{fb, bookB}}) {
            const QJsonObject r = QJsonDocument::fromJson(finished.out).object();
            const qint64 id = r.value(QStringLiteral("doc")).toInteger();
            QCOMPARE(db.document(id)->contentHash, mm::import::fileContentHash(book));
            QCOMPARE(db.document(id)->characters, r.value(QStringLiteral("chars")).toInteger());
            QCOMPARE(qint64(db.passageCount(id)), r.value(QStringLiteral("passages")).toInteger());
        }
        qInfo("two concurrent imports and %d list+search rounds meanwhile: all succeeded", reads);
    }

    void aWriterPastTheBusyTimeoutIsNamed()
    {
        const QString dbPath = m_dir.filePath(QStringLiteral("busy.sqlite3"));
        QCOMPARE(runCli({QStringLiteral("import"), QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/lanterns.txt"),
                         QStringLiteral("--db"), dbPath}).exitCode, 0);
        // Another program holds the write lock (as a long import would) for longer than
        // the busy timeout (10 s).
        sqlite3* holder = nullptr;
        QCOMPARE(sqlite3_open(QFile::encodeName(dbPath).constData(), &holder), SQLITE_OK);
        QCOMPARE(sqlite3_exec(holder, "BEGIN IMMEDIATE; UPDATE documents SET title = title;", nullptr, nullptr, nullptr), SQLITE_OK);

        QProcess writer;
        startCli(writer, {QStringLiteral("import"), QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/tides.md"),
                          QStringLiteral("--db"), dbPath});
        // Reading goes on meanwhile: opening the library takes no write lock.
        const Finished list = runCli({QStringLiteral("list"), QStringLiteral("--db"), dbPath});
        QVERIFY2(list.exitCode == 0, list.err.constData());
        QCOMPARE(list.out.count('\n'), 1);
        const Finished refused = finish(writer, 60000);
        sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(holder);
        QCOMPARE(refused.exitCode, 1);
        QVERIFY2(refused.err.contains("the library is busy: another MemMamba program"), refused.err.constData());
        Database db(dbPath);
        QCOMPARE(db.documents().size(), 1);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
        // Once the other program is done, the same import goes through.
        QCOMPARE(runCli({QStringLiteral("import"), QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/tides.md"),
                         QStringLiteral("--db"), dbPath}).exitCode, 0);
        QCOMPARE(db.documents().size(), 2);
    }
};

QTEST_GUILESS_MAIN(TestStorageProcesses)
#include "tst_storage_processes.moc"
