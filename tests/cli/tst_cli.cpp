// The `memmamba` command line, as scripts use it: one JSON object per --json command,
// search hits whose offsets `show` turns back into exactly the hit's passage, and one
// clear line on stderr with a non-zero exit for every bad input.
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

namespace {

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

const QString kSampleBook = QStringLiteral(MEMMAMBA_SOURCE_DIR "/resources/books/shirley.txt");

}  // namespace

class CliTest : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_db;

    Run run(const QStringList& args)
    {
        QProcess p;
        p.start(QStringLiteral(MEMMAMBA_CLI), args);
        if (!p.waitForFinished(120000))
            qFatal("memmamba %s did not finish", qPrintable(args.join(' ')));
        return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
    }

    QJsonObject runJson(QStringList args)
    {
        args << QStringLiteral("--json") << QStringLiteral("--db") << m_db;
        const Run r = run(args);
        if (r.exitCode != 0)
            qWarning("stderr: %s", r.err.constData());
        [&] { QCOMPARE(r.exitCode, 0); }();
        // One JSON object, on one line.
        [&] { QCOMPARE(r.out.trimmed().count('\n'), 0); }();
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(r.out, &error);
        [&] { QVERIFY2(doc.isObject(), qPrintable(error.errorString())); }();
        return doc.object();
    }

    /// Sentences of the book, picked at random (fixed seed) from its longer paragraphs.
    QStringList sampleSentences(const QString& text, int count)
    {
        const QStringList paragraphs = text.split(QRegularExpression(QStringLiteral("\n\\s*\n")));
        QStringList candidates;
        for (const QString& p : paragraphs) {
            if (p.size() < 300)
                continue;
            for (const QString& s : p.split(QStringLiteral(". "))) {
                const int words = s.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts).size();
                if (words >= 8 && s.size() < 300)
                    candidates << s;
            }
        }
        QRandomGenerator rng(20261128);
        QStringList picked;
        while (picked.size() < count && !candidates.isEmpty())
            picked << candidates.takeAt(int(rng.bounded(candidates.size())));
        return picked;
    }

    /// Makes a database file whose schema version is newer than this build's.
    void writeFutureDatabase(const QString& path)
    {
        sqlite3* db = nullptr;
        QCOMPARE(sqlite3_open(QFile::encodeName(path).constData(), &db), SQLITE_OK);
        QCOMPARE(sqlite3_exec(db, "PRAGMA application_id=1296908882; PRAGMA user_version=999;"
                                  "CREATE TABLE future(x);",
                              nullptr, nullptr, nullptr),
                 SQLITE_OK);
        sqlite3_close(db);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath(QStringLiteral("library.sqlite3"));
        QVERIFY(QFile::exists(kSampleBook));
    }

    void importReportsTheBook()
    {
        const QJsonObject out = runJson({QStringLiteral("import"), kSampleBook});
        QCOMPARE(out[QStringLiteral("files")].toArray().size(), 1);
        QVERIFY(out[QStringLiteral("errors")].toArray().isEmpty());
        QCOMPARE(out[QStringLiteral("title")].toString(), QStringLiteral("Shirley"));
        QVERIFY(out[QStringLiteral("doc")].toInteger() > 0);
        QVERIFY(out[QStringLiteral("chapters")].toInt() >= 20);
        QVERIFY(out[QStringLiteral("passages")].toInt() > 300);
        QFile book(kSampleBook);
        QVERIFY(book.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(book.readAll());
        QCOMPARE(out[QStringLiteral("chars")].toInteger(), qint64(text.toUcs4().size()));
        QCOMPARE(out[QStringLiteral("already_present")].toBool(), false);
    }

    void importIsIdempotent()
    {
        const QJsonObject first = runJson({QStringLiteral("import"), kSampleBook});
        const QJsonObject second = runJson({QStringLiteral("import"), kSampleBook});
        QCOMPARE(second[QStringLiteral("doc")].toInteger(), first[QStringLiteral("doc")].toInteger());
        QCOMPARE(second[QStringLiteral("already_present")].toBool(), true);
        QCOMPARE(runJson({QStringLiteral("list")})[QStringLiteral("documents")].toArray().size(), 1);
    }

    void searchHitsShowExactlyTheirPassage()
    {
        QFile book(kSampleBook);
        QVERIFY(book.open(QIODevice::ReadOnly));
        const QStringList sentences = sampleSentences(QString::fromUtf8(book.readAll()), 12);
        QCOMPARE(sentences.size(), 12);
        for (const QString& sentence : sentences) {
            const QJsonObject out = runJson({QStringLiteral("search"), sentence, QStringLiteral("--limit"), QStringLiteral("3")});
            const QJsonArray hits = out[QStringLiteral("hits")].toArray();
            QVERIFY2(!hits.isEmpty(), qPrintable(sentence));
            const QJsonObject hit = hits[0].toObject();
            for (const char* key : {"doc", "chapter", "char_start", "char_end", "text"})
                QVERIFY2(hit.contains(QLatin1String(key)), key);
            QVERIFY2(hit[QStringLiteral("text")].toString().contains(sentence), qPrintable(sentence));

            const Run shown = run({QStringLiteral("show"), QStringLiteral("--doc"),
                                   QString::number(hit[QStringLiteral("doc")].toInteger()), QStringLiteral("--from"),
                                   QString::number(hit[QStringLiteral("char_start")].toInteger()), QStringLiteral("--to"),
                                   QString::number(hit[QStringLiteral("char_end")].toInteger()), QStringLiteral("--db"), m_db});
            QCOMPARE(shown.exitCode, 0);
            QCOMPARE(QString::fromUtf8(shown.out), hit[QStringLiteral("text")].toString());
        }
    }

    void hostileQueriesNeverFail()
    {
        for (const QString& q : {QStringLiteral("\""), QStringLiteral("AND OR NOT"), QStringLiteral("*"),
                                 QStringLiteral("NEAR("), QStringLiteral("col:umn"), QStringLiteral("^x -y")}) {
            const QJsonObject out = runJson({QStringLiteral("search"), q});
            QVERIFY(out[QStringLiteral("hits")].isArray());
        }
    }

    void infoDescribesTheSetup()
    {
        const QJsonObject info = runJson({QStringLiteral("info")});
        QCOMPARE(info[QStringLiteral("tokenizer")].toObject()[QStringLiteral("vocab_size")].toInt(), 8192);
        QVERIFY(info[QStringLiteral("tokenizer")].toObject()[QStringLiteral("fingerprint")].toString().startsWith(
            QStringLiteral("spm-unigram-8192:")));
        QCOMPARE(info[QStringLiteral("database")].toObject()[QStringLiteral("schema_version")].toInt(), 5);
    }

    void badInputGetsOneClearLine_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        const QString data = QStringLiteral(MEMMAMBA_TEST_DATA_DIR);
        QTest::newRow("empty file") << QStringList{QStringLiteral("import"), data + QStringLiteral("/empty.txt")} << 1
                                    << QStringLiteral("is empty");
        QTest::newRow("binary file") << QStringList{QStringLiteral("import"), data + QStringLiteral("/binary.txt")} << 1
                                     << QStringLiteral("binary");
        QTest::newRow("missing file") << QStringList{QStringLiteral("import"), QStringLiteral("/no/such/book.txt")} << 1
                                      << QStringLiteral("does not exist");
        QTest::newRow("unknown document") << QStringList{QStringLiteral("show"), QStringLiteral("--doc"), QStringLiteral("4242")}
                                          << 1 << QStringLiteral("no document with id 4242");
        QTest::newRow("range outside") << QStringList{QStringLiteral("show"), QStringLiteral("--doc"), QStringLiteral("1"),
                                                      QStringLiteral("--from"), QStringLiteral("99999999")}
                                       << 1 << QStringLiteral("outside");
        QTest::newRow("not a number") << QStringList{QStringLiteral("search"), QStringLiteral("x"), QStringLiteral("--limit"),
                                                     QStringLiteral("lots")}
                                      << 2 << QStringLiteral("--limit must be an integer");
        QTest::newRow("no query") << QStringList{QStringLiteral("search")} << 2 << QStringLiteral("needs a QUERY");
        QTest::newRow("unknown option") << QStringList{QStringLiteral("list"), QStringLiteral("--frobnicate")} << 2
                                        << QStringLiteral("frobnicate");
        QTest::newRow("unknown command") << QStringList{QStringLiteral("frobnicate")} << 2 << QStringLiteral("unknown command");
    }

    void badInputGetsOneClearLine()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        const Run r = run(args << QStringLiteral("--db") << m_db);
        QCOMPARE(r.exitCode, exitCode);
        // Progress lines may come first; the error is the one last line.
        const QString err = QString::fromUtf8(r.err).trimmed().section(QLatin1Char('\n'), -1);
        QVERIFY2(err.startsWith(QStringLiteral("memmamba")), qPrintable(err));
        QVERIFY2(err.contains(message), qPrintable(err));
        QVERIFY(r.out.isEmpty());
    }

    void aFailedFileLeavesTheOthersImported()
    {
        const QString other = m_dir.filePath(QStringLiteral("other.db"));
        const Run r = run({QStringLiteral("import"), QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/empty.txt"), kSampleBook,
                           QStringLiteral("--db"), other, QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 1);
        const QJsonObject out = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(out[QStringLiteral("files")].toArray().size(), 1);
        QCOMPARE(out[QStringLiteral("errors")].toArray().size(), 1);
    }

    void newerDatabaseIsRefusedAndKept()
    {
        const QString future = m_dir.filePath(QStringLiteral("future.sqlite3"));
        writeFutureDatabase(future);
        QFile before(future);
        QVERIFY(before.open(QIODevice::ReadOnly));
        const QByteArray bytes = before.readAll();
        before.close();
        const Run r = run({QStringLiteral("list"), QStringLiteral("--db"), future});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(QString::fromUtf8(r.err).contains(QStringLiteral("newer")), r.err.constData());
        QFile after(future);
        QVERIFY(after.open(QIODevice::ReadOnly));
        QCOMPARE(after.readAll(), bytes);
    }

    void folderImportIsIncremental()
    {
        // EPUB, HTML, PDF and a hostile file in a folder tree, imported as a collection.
#if !MEMMAMBA_TEST_IMPORT_FORMATS
        QSKIP("built with MEMMAMBA_IMPORT_FORMATS=OFF: no EPUB, HTML or PDF reader");
#endif
        const QString formats = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/formats/");
        QTemporaryDir books;
        QVERIFY(books.isValid());
        QVERIFY(QDir(books.path()).mkpath(QStringLiteral("more")));
        QVERIFY(QFile::copy(formats + QStringLiteral("dombey_epub3.epub"), books.filePath(QStringLiteral("dombey.epub"))));
        QVERIFY(QFile::copy(formats + QStringLiteral("dombey.pdf"), books.filePath(QStringLiteral("more/dombey.pdf"))));
        QVERIFY(QFile::copy(formats + QStringLiteral("hostile/traversal.epub"), books.filePath(QStringLiteral("more/evil.epub"))));
        const QString db = m_dir.filePath(QStringLiteral("folder.sqlite3"));
        const QStringList args{QStringLiteral("import"), books.path(), QStringLiteral("--collection"), QStringLiteral("Dickens"),
                               QStringLiteral("--json"), QStringLiteral("--db"), db};

        Run r = run(args);
        QCOMPARE(r.exitCode, 1);  // the hostile file failed; the others are in
        QVERIFY2(r.err.contains("'evil.epub' has an entry that climbs out of the archive: '../../etc/passwd'"), r.err.constData());
        QJsonObject out = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(out[QStringLiteral("files")].toArray().size(), 2);
        QCOMPARE(out[QStringLiteral("errors")].toArray().size(), 1);
        for (const auto f : out[QStringLiteral("files")].toArray())
            QCOMPARE(f.toObject()[QStringLiteral("outcome")].toString(), QStringLiteral("imported"));

        // Again: unchanged, nothing imported twice.
        QVERIFY(QFile::remove(books.filePath(QStringLiteral("more/evil.epub"))));
        r = run(args);
        QCOMPARE(r.exitCode, 0);
        out = QJsonDocument::fromJson(r.out).object();
        for (const auto f : out[QStringLiteral("files")].toArray())
            QCOMPARE(f.toObject()[QStringLiteral("outcome")].toString(), QStringLiteral("unchanged"));
        const Run list = run({QStringLiteral("list"), QStringLiteral("--json"), QStringLiteral("--db"), db});
        QCOMPARE(list.exitCode, 0);
        QVERIFY2(list.out.contains("Dombey and Son"), list.out.constData());

        // Search hits carry the PDF page, and null for the EPUB.
        const Run search = run({QStringLiteral("search"), QStringLiteral("Timely Provision"), QStringLiteral("--json"),
                                QStringLiteral("--db"), db});
        QCOMPARE(search.exitCode, 0);
        const QJsonArray hits = QJsonDocument::fromJson(search.out).object()[QStringLiteral("hits")].toArray();
        QCOMPARE(hits.size(), 2);
        int withPage = 0, withoutPage = 0;
        for (const auto h : hits) {
            const QJsonValue page = h.toObject()[QStringLiteral("page")];
            QVERIFY(h.toObject().contains(QStringLiteral("page")));
            if (page.isNull())
                ++withoutPage;
            else if (page.toInt() >= 3)
                ++withPage;
        }
        QCOMPARE(withPage, 1);
        QCOMPARE(withoutPage, 1);
    }
};

QTEST_GUILESS_MAIN(CliTest)
#include "tst_cli.moc"
