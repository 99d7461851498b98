// Streamed import of large text files in bounded memory. Its own executable: the test
// reads the process's peak RSS (VmHWM), which other tests would already have raised.
// Also a folder of many small files (progress, cancel, peak RSS).
// By default a generated 60 MB file (CRLF line endings, accents and emoji, so pieces cut
// through multi-byte sequences and CR LF pairs); MEMMAMBA_STREAM_MB=500 for the figure in
// docs/storage.md.
#include "storage/import/importer.h"
#include "storage/text_offsets.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

using namespace mm::import;
using mm::storage::Database;

namespace {

/// Peak resident set size of this process so far, in MB.
qint64 peakRssMb()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly | QIODevice::Text))
        return -1;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong() / 1024;
    return -1;
}

struct Generated {
    qint64 codePoints = 0;  ///< after CRLF -> LF
    int chapters = 0;
    QString chapter7Start;  ///< the first characters of chapter 7's heading line
};

/// A book of `megabytes` MB: chapters of 20-40 paragraphs, each paragraph a few
/// sentences, lines ending in CR LF.
Generated writeBook(const QString& path, qint64 megabytes)
{
    Generated g;
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    QRandomGenerator rng(7);
    const QStringList words = {QStringLiteral("harbour"), QStringLiteral("lantern"), QStringLiteral("tide"),
                               QStringLiteral("caf\u00E9"), QStringLiteral("na\u00EFve"), QStringLiteral("moon \U0001F319"),
                               QStringLiteral("keeper"), QStringLiteral("storm"), QStringLiteral("gull"), QStringLiteral("rope")};
    const qint64 target = megabytes * 1024 * 1024;
    QByteArray buffer;
    auto put = [&](const QString& text) {
        g.codePoints += mm::storage::CodePointIndex(text).codePointCount();
        QString crlf = text;
        crlf.replace(QLatin1Char('\n'), QLatin1String("\r\n"));
        buffer += crlf.toUtf8();
        if (buffer.size() > (1 << 20)) {
            file.write(buffer);
            buffer.clear();
        }
    };
    put(QStringLiteral("THE LONG BOOK\n\nby A. Generator\n\n\n"));
    while (file.size() + buffer.size() < target) {
        ++g.chapters;
        const QString heading = QStringLiteral("CHAPTER %1.\n\n").arg(g.chapters);
        if (g.chapters == 7)
            g.chapter7Start = heading.trimmed();
        put(heading);
        const int paragraphs = 20 + int(rng.bounded(20));
        for (int p = 0; p < paragraphs; ++p) {
            QString para;
            const int length = 40 + int(rng.bounded(120));
            for (int w = 0; w < length; ++w) {
                para += words[int(rng.bounded(words.size()))];
                para += (w % 12 == 11) ? QStringLiteral(".\n") : QStringLiteral(" ");
            }
            put(para.trimmed() + QStringLiteral("\n\n"));
        }
    }
    file.write(buffer);
    return g;
}

}  // namespace

class TestStorageStream : public QObject {
    Q_OBJECT

private slots:
    void init() { QVERIFY(m_dir.isValid()); }

    void streamedEqualsWholeFileImport()
    {
        // One block: the streamed path must give exactly what the whole-file path gives.
        const QString book = QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/harbour_wall.txt");
        Database whole(m_dir.filePath(QStringLiteral("whole.sqlite3")));
        Database streamed(m_dir.filePath(QStringLiteral("streamed.sqlite3")));
        ImportOptions always;
        always.streamAboveBytes = 0;
        const ImportResult a = importFile(whole, book);
        const ImportResult b = importFile(streamed, book, always);
        QCOMPARE(b.title, a.title);
        QCOMPARE(b.characters, a.characters);
        QCOMPARE(b.passages, a.passages);
        QCOMPARE(b.chapters, a.chapters);
        QCOMPARE(streamed.documentText(b.docId), whole.documentText(a.docId));
        QCOMPARE(streamed.document(b.docId)->contentHash, whole.document(a.docId)->contentHash);
        const auto pa = whole.passages(a.docId);
        const auto pb = streamed.passages(b.docId);
        for (int i = 0; i < pa.size(); ++i) {
            QCOMPARE(pb[i].charStart, pa[i].charStart);
            QCOMPARE(pb[i].chapterIndex, pa[i].chapterIndex);
        }
        // And again: already present, nothing stored twice.
        QVERIFY(importFile(streamed, book, always).alreadyPresent);
        QCOMPARE(streamed.documents().size(), 1);
    }

    void streamedImportRefusalsAndCancel()
    {
        Database db(m_dir.filePath(QStringLiteral("refuse.sqlite3")));
        ImportOptions always;
        always.streamAboveBytes = 0;
        const QString blank = m_dir.filePath(QStringLiteral("blank.txt"));
        QFile f(blank);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(3 * 1024 * 1024, ' '));
        f.close();
        try {
            importFile(db, blank, always);
            QFAIL("a blank file was imported");
        } catch (const ImportError& e) {
            QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("'blank.txt' is empty"));
        }
        try {
            importFile(db, QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/binary.txt"), always);
            QFAIL("a binary file was imported");
        } catch (const ImportError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("looks like a binary file")), e.what());
        }
        // Cancelled half-way through storing: nothing stays.
        const QString book = m_dir.filePath(QStringLiteral("cancel.txt"));
        writeBook(book, 6);
        std::atomic_bool cancel(false);
        ImportOptions cancelling = always;
        cancelling.cancel = &cancel;
        cancelling.progress = [&](double fraction, const QString&) {
            if (fraction > 0.6)
                cancel = true;
        };
        QVERIFY_THROWS_EXCEPTION(ImportCancelled, importFile(db, book, cancelling));
        QVERIFY(db.documents().isEmpty());
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
    }

    void fileChangingDuringImport()
    {
        Database db(m_dir.filePath(QStringLiteral("changing.sqlite3")));
        ImportOptions streamed;
        streamed.streamAboveBytes = 0;
        const QString book = m_dir.filePath(QStringLiteral("changing.txt"));
        writeBook(book, 3);
        const QByteArray original = [&] {
            QFile f(book);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        }();

        // Cut to half once the second pass (storing) has begun: refused, nothing stored.
        ImportOptions shrinking = streamed;
        bool cut = false;
        shrinking.progress = [&](double, const QString& stage) {
            if (stage == QLatin1String("storing") && !cut)
                cut = QFile::resize(book, original.size() / 2);
        };
        try {
            importFile(db, book, shrinking);
            QFAIL("a file that shrank mid-import was imported");
        } catch (const ImportError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).startsWith(QStringLiteral("'changing.txt' changed while it was being imported (%1 bytes")
                                                               .arg(original.size())), e.what());
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("nothing was stored")), e.what());
        }
        QVERIFY(cut);
        QVERIFY(db.documents().isEmpty());
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));

        // Removed mid-import: the open file is still read whole (POSIX), so the book is
        // stored exactly as it was hashed.
        QFile restore(book);
        QVERIFY(restore.open(QIODevice::WriteOnly));
        restore.write(original);
        restore.close();
        ImportOptions vanishing = streamed;
        bool removed = false;
        vanishing.progress = [&](double, const QString& stage) {
            if (stage == QLatin1String("storing") && !removed)
                removed = QFile::remove(book);
        };
        const ImportResult r = importFile(db, book, vanishing);
        QVERIFY(removed);
        QCOMPARE(db.document(r.docId)->contentHash,
                 QString::fromLatin1(QCryptographicHash::hash(original, QCryptographicHash::Sha256).toHex()));
        QCOMPARE(db.documentText(r.docId).size(), QString::fromUtf8(original).remove(QLatin1Char('\r')).size());

        // In a folder, a file that is gone by its turn is one clear failure; the rest import.
        const QString folder = m_dir.filePath(QStringLiteral("shelf"));
        QVERIFY(QDir().mkpath(folder));
        for (const char* name : {"a.txt", "b.txt", "c.txt"}) {
            QFile f(folder + QLatin1Char('/') + QLatin1String(name));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray("The keeper of ") + name + " walked the harbour wall at dusk.\n");
        }
        ImportOptions folderOptions;
        folderOptions.progress = [&](double, const QString& stage) {
            if (stage.startsWith(QLatin1String("a.txt")))
                QFile::remove(folder + QStringLiteral("/b.txt"));
        };
        const QVector<FolderImportEntry> entries = importFolder(db, folder, folderOptions);
        QCOMPARE(entries.size(), 3);
        QCOMPARE(entries[1].outcome, FolderImportEntry::Outcome::Failed);
        QVERIFY2(entries[1].error.contains(QStringLiteral("b.txt")) && entries[1].error.contains(QStringLiteral("No such file")),
                 qPrintable(entries[1].error));
        QCOMPARE(entries[2].outcome, FolderImportEntry::Outcome::Imported);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
    }

    void folderOfManySmallFiles()
    {
        // 1,000 small books in 50 sub-folders (MEMMAMBA_FOLDER_FILES=5000 for the figure in
        // docs/reliability.md).
        const int count = qEnvironmentVariableIsSet("MEMMAMBA_FOLDER_FILES") ? qEnvironmentVariableIntValue("MEMMAMBA_FOLDER_FILES")
                                                                               : 1000;
        const QString folder = m_dir.filePath(QStringLiteral("many"));
        QRandomGenerator rng(5);
        const QStringList words = {QStringLiteral("harbour"), QStringLiteral("lantern"), QStringLiteral("tide"),
                                   QStringLiteral("caf\u00E9"), QStringLiteral("keeper"), QStringLiteral("gull")};
        for (int i = 0; i < count; ++i) {
            const QString sub = folder + QStringLiteral("/part%1").arg(i % 50, 2, 10, QLatin1Char('0'));
            QVERIFY(QDir().mkpath(sub));
            QString text = QStringLiteral("Note %1\n\n").arg(i);
            for (int w = 0; w < 150 + int(rng.bounded(300)); ++w)
                text += words[int(rng.bounded(words.size()))] + QLatin1Char(w % 15 == 14 ? '\n' : ' ');
            QFile f(sub + QStringLiteral("/note%1.txt").arg(i, 5, 10, QLatin1Char('0')));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(text.toUtf8());
        }
        Database db(m_dir.filePath(QStringLiteral("many.sqlite3")));

        // Cancelled a third of the way: what was imported is whole, the rest absent.
        std::atomic_bool cancel(false);
        ImportOptions cancelling;
        cancelling.cancel = &cancel;
        double last = 0;
        cancelling.progress = [&](double fraction, const QString&) {
            last = fraction;
            if (fraction > 0.33)
                cancel = true;
        };
        QVERIFY_THROWS_EXCEPTION(ImportCancelled, importFolder(db, folder, cancelling));
        const qsizetype partial = db.documents().size();
        QVERIFY2(partial > 0 && partial < count, qPrintable(QString::number(partial)));
        QVERIFY(last < 0.5);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));

        // Then the whole folder: progress only grows, and what was done is not redone.
        const qint64 before = peakRssMb();
        ImportOptions options;
        double previous = 0;
        bool monotonic = true;
        int reports = 0;
        options.progress = [&](double fraction, const QString&) {
            monotonic = monotonic && fraction >= previous;
            previous = fraction;
            ++reports;
        };
        QElapsedTimer timer;
        timer.start();
        const QVector<FolderImportEntry> entries = importFolder(db, folder, options);
        const qint64 ms = timer.elapsed();
        const qint64 peak = peakRssMb();
        QCOMPARE(entries.size(), count);
        int unchanged = 0;
        for (const FolderImportEntry& e : entries) {
            QVERIFY2(e.outcome != FolderImportEntry::Outcome::Failed, qPrintable(e.error));
            unchanged += e.outcome == FolderImportEntry::Outcome::Unchanged;
        }
        QCOMPARE(unchanged, int(partial));
        QVERIFY(monotonic);
        QCOMPARE(previous, 1.0);
        QVERIFY(reports >= count);
        QCOMPARE(db.documents().size(), count);
        QCOMPARE(db.collections().size(), 1);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
        qInfo("%d files: the last %lld imported in %.1f s (%.0f files/s); peak RSS %lld MB (before %lld MB)", count,
              qint64(count - partial), ms / 1000.0, (count - partial) * 1000.0 / std::max<qint64>(ms, 1), peak, before);
        QVERIFY2(peak - before < 200, qPrintable(QStringLiteral("peak RSS grew by %1 MB").arg(peak - before)));
    }

    void largeFileInBoundedMemory()
    {
        const qint64 megabytes = qEnvironmentVariableIsSet("MEMMAMBA_STREAM_MB")
                                     ? qEnvironmentVariableIntValue("MEMMAMBA_STREAM_MB") : 60;
        const QString book = m_dir.filePath(QStringLiteral("long_book.txt"));
        const Generated g = writeBook(book, megabytes);
        const qint64 before = peakRssMb();

        Database db(m_dir.filePath(QStringLiteral("large.sqlite3")));
        QElapsedTimer timer;
        timer.start();
        const ImportResult r = importFile(db, book);
        const qint64 ms = timer.elapsed();
        const qint64 peak = peakRssMb();
        qInfo("%lld MB imported in %.1f s: %lld passages, %d chapters; peak RSS %lld MB (before %lld MB)",
              megabytes, ms / 1000.0, qint64(r.passages), r.chapters, peak, before);

        QCOMPARE(r.characters, g.codePoints);
        QCOMPARE(db.document(r.docId)->characters, g.codePoints);
        QCOMPARE(r.title, QStringLiteral("The Long Book"));
        QCOMPARE(r.chapters, g.chapters);
        const auto chapters = db.chapters(r.docId);
        QCOMPARE(db.documentText(r.docId, chapters[6].charOffset, chapters[6].charOffset + g.chapter7Start.size()),
                 g.chapter7Start);
        const QString last = db.documentText(r.docId, g.codePoints - 200);
        QVERIFY(!last.contains(QLatin1Char('\r')));
        QVERIFY(!db.search(QStringLiteral("lantern harbour")).isEmpty());
        // Bounded: a whole-file import holds the bytes, the decoded text and its copies
        // (several times the file); streaming holds a few 8 MB blocks.
        QVERIFY2(peak - before < 200, qPrintable(QStringLiteral("peak RSS grew by %1 MB").arg(peak - before)));
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestStorageStream)
#include "tst_storage_stream.moc"
