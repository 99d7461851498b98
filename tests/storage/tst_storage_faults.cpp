// The library under a failing disk: for every N, the Nth write or sync of an import (whole
// and streamed; and 12 N spread over a 4 MB import that spills SQLite's page cache, so
// faults land inside statements too) and of a memory ingest (MemoryStore steps with checkpoint-sized blobs,
// as app/memory writes them) fails with an I/O error (once) or a full disk (until space
// is "freed"), through fault_vfs.h. Each time: the error names its cause, the library
// passes PRAGMA integrity_check and FTS5's check, every document and memory complete
// before is byte for byte intact, a half-written memory is a whole prefix of steps, and
// a retry on the same connection completes the work. Closing the library (its WAL
// checkpoint) is inside the counted span too.
#include "fault_vfs.h"

#include "storage/database.h"
#include "storage/import/importer.h"
#include "storage/memory_store.h"
#include "storage/sqlite_util.h"

#include <QFileInfo>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

#include <sqlite3.h>

#include <functional>
#include <memory>

using namespace mm::storage;
using mm::test::FaultVfs;

namespace {

QString fixture(const char* name)
{
    return QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/") + QLatin1String(name);
}

const QString kBaseProducer = QStringLiteral("mm1:base|spm:1");
const QString kNewProducer = QStringLiteral("mm1:new|spm:1");
constexpr qint64 kStepTokens = 100;
constexpr int kIngestSteps = 5;

/// A checkpoint-like blob: incompressible bytes, a few pages long (overflow pages).
QByteArray stepBlob(const QString& producer, qint64 position, int bytes)
{
    QRandomGenerator rng(quint32(qHash(producer) ^ quint32(position)));
    QByteArray blob(bytes, Qt::Uninitialized);
    for (char& c : blob)
        c = char(rng.bounded(256));
    return blob;
}

MemoryBlockRecord stepBlock(const QString& producer, qint64 first)
{
    MemoryBlockRecord b;
    b.fingerprint = producer;
    b.firstPosition = first;
    b.endPosition = first + kStepTokens;
    b.charStart = first * 3;
    b.charEnd = (first + kStepTokens) * 3;
    b.formatVersion = 1;
    b.codec = QStringLiteral("zstd");
    b.data = stepBlob(producer + QStringLiteral("/block"), first, 2500);
    b.rawBytes = b.data.size();
    b.checksum = QStringLiteral("block-%1").arg(first);
    return b;
}

CheckpointRecord stepCheckpoint(const QString& producer, qint64 position)
{
    CheckpointRecord c;
    c.fingerprint = producer;
    c.position = position;
    c.charOffset = position * 3;
    c.kind = QStringLiteral("periodic");
    c.formatVersion = 1;
    c.codec = QStringLiteral("zstd");
    c.blob = stepBlob(producer, position, 9000);
    c.rawBytes = c.blob.size();
    c.checksum = QStringLiteral("state-%1").arg(position);
    return c;
}

/// Reads a document into memory as app/memory's ingest does: begin (or continue) the
/// run, then one committed step per block, the last one final. Resumes where a failed
/// run stopped.
void ingest(Database& db, qint64 docId, const QString& producer, int steps)
{
    MemoryStore store(db);
    const MemoryRun run = store.beginRun(docId, producer, steps * kStepTokens, QStringLiteral("{\"checkpoint_every\":100}"));
    store.truncateAfter(docId, producer, run.doneTokens);
    for (qint64 first = run.doneTokens; first < steps * kStepTokens; first += kStepTokens)
        store.commitStep(docId, stepBlock(producer, first), stepCheckpoint(producer, first + kStepTokens),
                         first + kStepTokens == steps * kStepTokens);
}

/// Everything the library holds about one document, blobs included.
struct DocumentImage {
    DocumentRecord record;
    QString text;
    QVector<ChapterRecord> chapters;
    QVector<PassageRecord> passages;
    std::optional<SessionRecord> session;
    std::optional<MemoryRun> run;
    QVector<CheckpointRecord> checkpoints;
    QVector<MemoryBlockRecord> blocks;
};

DocumentImage imageOf(Database& db, qint64 docId)
{
    DocumentImage image;
    image.record = *db.document(docId);
    image.text = db.documentText(docId);
    image.chapters = db.chapters(docId);
    image.passages = db.passages(docId);
    image.session = db.session(docId);
    MemoryStore store(db);
    image.run = store.run(docId);
    for (const QString& producer : store.producers(docId)) {
        for (CheckpointRecord c : store.checkpoints(docId, producer)) {
            c.blob = store.checkpointBlob(c.id);
            image.checkpoints << c;
        }
        image.blocks << store.blocks(docId, producer);
    }
    return image;
}

/// Empty when equal, else what differs.
QString compareImages(const DocumentImage& a, const DocumentImage& b)
{
    if (a.record.contentHash != b.record.contentHash || a.record.title != b.record.title
        || a.record.characters != b.record.characters || a.record.status != b.record.status
        || a.record.tokens != b.record.tokens || a.record.collectionId != b.record.collectionId)
        return QStringLiteral("the document's row changed");
    if (a.text != b.text)
        return QStringLiteral("the text changed");
    if (a.chapters.size() != b.chapters.size() || a.passages.size() != b.passages.size())
        return QStringLiteral("chapters or passages changed");
    for (int i = 0; i < a.passages.size(); ++i)
        if (a.passages[i].text != b.passages[i].text || a.passages[i].charStart != b.passages[i].charStart)
            return QStringLiteral("passage %1 changed").arg(i);
    if (bool(a.session) != bool(b.session) || (a.session && a.session->position != b.session->position))
        return QStringLiteral("the session changed");
    if (bool(a.run) != bool(b.run) || (a.run && a.run->doneTokens != b.run->doneTokens))
        return QStringLiteral("the memory run changed");
    if (a.checkpoints.size() != b.checkpoints.size() || a.blocks.size() != b.blocks.size())
        return QStringLiteral("checkpoints or blocks were lost or added");
    for (int i = 0; i < a.checkpoints.size(); ++i)
        if (a.checkpoints[i].blob != b.checkpoints[i].blob || a.checkpoints[i].position != b.checkpoints[i].position)
            return QStringLiteral("checkpoint %1 changed").arg(i);
    for (int i = 0; i < a.blocks.size(); ++i)
        if (a.blocks[i].data != b.blocks[i].data || a.blocks[i].firstPosition != b.blocks[i].firstPosition)
            return QStringLiteral("block %1 changed").arg(i);
    return {};
}

/// A half-read memory must be whole steps: block k and the checkpoint closing it, each
/// with the bytes that were written, and the run's progress at the last of them.
QString checkMemoryPrefix(Database& db, qint64 docId, const QString& producer)
{
    MemoryStore store(db);
    const QVector<MemoryBlockRecord> blocks = store.blocks(docId, producer);
    const QVector<CheckpointRecord> checkpoints = store.checkpoints(docId, producer);
    if (blocks.size() != checkpoints.size())
        return QStringLiteral("%1 blocks but %2 checkpoints").arg(blocks.size()).arg(checkpoints.size());
    for (int i = 0; i < blocks.size(); ++i) {
        const MemoryBlockRecord expected = stepBlock(producer, i * kStepTokens);
        if (blocks[i].firstPosition != expected.firstPosition || blocks[i].data != expected.data)
            return QStringLiteral("block %1 is not the one written").arg(i);
        if (checkpoints[i].position != expected.endPosition
            || store.checkpointBlob(checkpoints[i].id) != stepCheckpoint(producer, expected.endPosition).blob)
            return QStringLiteral("checkpoint %1 is not the one written").arg(i);
    }
    const std::optional<MemoryRun> run = store.run(docId);
    const qint64 done = blocks.isEmpty() ? 0 : blocks.last().endPosition;
    if (run && run->doneTokens != done)
        return QStringLiteral("the run says %1 tokens are done, the blocks end at %2").arg(run->doneTokens).arg(done);
    if (!run && !blocks.isEmpty())
        return QStringLiteral("blocks without a run");
    return {};
}

}  // namespace

class TestStorageFaults : public QObject {
    Q_OBJECT

    struct Library {
        QString path;
        qint64 memoryDoc = 0;  ///< read into memory completely (the "before" memory)
        qint64 plainDoc = 0;   ///< imported, not read: the ingest target
        QMap<qint64, DocumentImage> before;
    };

    /// A library with a document read into memory, a session, and a document not read
    /// yet; images of both taken before any fault.
    Library makeLibrary(const QString& name)
    {
        Library lib;
        lib.path = m_dir.filePath(name);
        Database db(lib.path);
        mm::import::ImportOptions options;
        options.collection = QStringLiteral("Sea");
        lib.memoryDoc = mm::import::importFile(db, fixture("lanterns.txt"), options).docId;
        lib.plainDoc = mm::import::importFile(db, fixture("tides.md"), options).docId;
        db.saveSession({lib.memoryDoc, 120, 0, QByteArray("layout")});
        ingest(db, lib.memoryDoc, kBaseProducer, 2);
        for (qint64 id : {lib.memoryDoc, lib.plainDoc})
            lib.before[id] = imageOf(db, id);
        return lib;
    }

    /// Every document of lib.before intact, integrity clean; on a new connection.
    void checkSurvived(const Library& lib, const QString& where)
    {
        Database db(lib.path);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
        for (auto it = lib.before.begin(); it != lib.before.end(); ++it) {
            DocumentImage now = imageOf(db, it.key());
            if (it.key() == lib.plainDoc) {
                // The ingest target may hold a prefix of the new memory: compare the rest.
                QVERIFY2(checkMemoryPrefix(db, lib.plainDoc, kNewProducer).isEmpty(),
                         qPrintable(where + QStringLiteral(": ") + checkMemoryPrefix(db, lib.plainDoc, kNewProducer)));
                now.record.status = it->record.status;
                now.record.tokens = it->record.tokens;
                now.run = it->run;
                now.checkpoints = it->checkpoints;
                now.blocks = it->blocks;
            }
            const QString diff = compareImages(it.value(), now);
            QVERIFY2(diff.isEmpty(), qPrintable(where + QStringLiteral(": document %1: ").arg(it.key()) + diff));
        }
    }

    using Operation = std::function<void(Database&, const Library&)>;
    using Verify = std::function<void(Database&, const Library&)>;

    /// Runs op once without faults to count its writes and syncs (closing included), then
    /// once per N with the Nth failing.
    void underEveryFault(const QString& name, FaultVfs::Fault fault, bool persistent, const Operation& op,
                         const Verify& verifyDone, int samples = 0)
    {
        int total = 0;
        {
            const Library lib = makeLibrary(QString::number(qHash(name)) + QStringLiteral("-count.sqlite3"));
            auto db = std::make_unique<Database>(lib.path);
            FaultVfs::arm(FaultVfs::Fault::None, 0, false);
            op(*db, lib);
            db.reset();
            total = FaultVfs::operations();
        }
        QVERIFY2(total > 3, qPrintable(QStringLiteral("only %1 writes counted: is the VFS in use?").arg(total)));
        int failedOps = 0;
        // Every N, or (for a long operation) `samples` of them spread over its writes.
        QVector<int> points;
        for (int n = 1; n <= total; ++n)
            if (samples <= 0 || n == 1 || n == total || (n * samples) / total != ((n - 1) * samples) / total)
                points << n;
        for (int n : std::as_const(points)) {
            const QString where = QStringLiteral("%1, fault at write %2 of %3").arg(name).arg(n).arg(total);
            const Library lib = makeLibrary(QStringLiteral("%1-%2.sqlite3").arg(qHash(name)).arg(n));
            auto db = std::make_unique<Database>(lib.path);
            FaultVfs::arm(fault, n, persistent);
            bool failed = false;
            try {
                op(*db, lib);
            } catch (const StorageError& e) {
                failed = true;
                ++failedOps;
                const QString message = QString::fromUtf8(e.what());
                const bool full = fault == FaultVfs::Fault::DiskFull;
                QVERIFY2(e.cause() == (full ? StorageError::Cause::DiskFull : StorageError::Cause::IoError),
                         qPrintable(where + QStringLiteral(": ") + message));
                QVERIFY2(message.startsWith(full ? QStringLiteral("the disk is full: ") : QStringLiteral("a disk I/O error: ")),
                         qPrintable(where + QStringLiteral(": ") + message));
                QVERIFY2(message.contains(QStringLiteral("nothing in the library was changed")), qPrintable(message));
                if (failedOps == 1)
                    qInfo("%s: %s", qPrintable(where), qPrintable(message));
            }
            if (!failed)
                db.reset();  // closing (the WAL checkpoint) meets the fault too
            FaultVfs::disarm();
            checkSurvived(lib, where);
            if (QTest::currentTestFailed())
                return;
            if (failed) {
                // Space freed / disk back: the same connection finishes the work.
                op(*db, lib);
                db.reset();
                checkSurvived(lib, where + QStringLiteral(", after the retry"));
            }
            Database after(lib.path);
            verifyDone(after, lib);
            if (QTest::currentTestFailed())
                return;
            QFile::remove(lib.path);
        }
        qInfo("%s: %d of %d writes failed in turn, %d operations failed with the cause named, every retry completed",
              qPrintable(name), int(points.size()), total, failedOps);
        QVERIFY(failedOps > 0);
    }

private slots:
    void initTestCase()
    {
        FaultVfs::install();
        QVERIFY(m_dir.isValid());
    }

    void cleanup() { FaultVfs::disarm(); }

    void importUnderFaults_data()
    {
        QTest::addColumn<int>("fault");
        QTest::addColumn<bool>("persistent");
        QTest::addColumn<bool>("streamed");
        QTest::newRow("io error, whole file") << int(FaultVfs::Fault::IoError) << false << false;
        QTest::newRow("disk full, whole file") << int(FaultVfs::Fault::DiskFull) << true << false;
        QTest::newRow("io error, streamed") << int(FaultVfs::Fault::IoError) << false << true;
        QTest::newRow("disk full, streamed") << int(FaultVfs::Fault::DiskFull) << true << true;
    }

    void importUnderFaults()
    {
        QFETCH(int, fault);
        QFETCH(bool, persistent);
        QFETCH(bool, streamed);
        const QString book = fixture("harbour_wall.txt");
        auto op = [&](Database& db, const Library&) {
            mm::import::ImportOptions options;
            options.collection = QStringLiteral("Harbour");
            if (streamed)
                options.streamAboveBytes = 0;
            mm::import::importFile(db, book, options);
        };
        auto done = [&](Database& db, const Library&) {
            const QString hash = mm::import::fileContentHash(book);
            const std::optional<qint64> id = db.documentByHash(hash);
            QVERIFY(id);
            QFile f(book);
            QVERIFY(f.open(QIODevice::ReadOnly));
            const QString text = QString::fromUtf8(f.readAll());
            QCOMPARE(db.documentText(*id).size(), text.size());
            QVERIFY(db.passageCount(*id) > 1);
            QVERIFY(!db.search(QStringLiteral("harbour wall"), 5, *id).isEmpty());
            QCOMPARE(db.documents().size(), 3);
        };
        underEveryFault(QStringLiteral("import, %1").arg(QLatin1String(QTest::currentDataTag())), FaultVfs::Fault(fault), persistent, op, done);
    }

    void largeImportUnderFaults_data()
    {
        QTest::addColumn<int>("fault");
        QTest::addColumn<bool>("persistent");
        QTest::newRow("io error") << int(FaultVfs::Fault::IoError) << false;
        QTest::newRow("disk full") << int(FaultVfs::Fault::DiskFull) << true;
    }

    void largeImportUnderFaults()
    {
        // 4 MB streamed: more than SQLite's page cache, so pages spill to the WAL in the
        // middle of the transaction and faults land inside statements, not only at commit.
        QFETCH(int, fault);
        QFETCH(bool, persistent);
        const QString book = m_dir.filePath(QStringLiteral("large.txt"));
        if (!QFile::exists(book)) {
            QFile f(book);
            QVERIFY(f.open(QIODevice::WriteOnly));
            QRandomGenerator rng(3);
            const QList<QByteArray> words = {"harbour", "lantern", "tide", "caf\xC3\xA9", "keeper", "gull", "rope"};
            for (int chapter = 1; f.size() < 4 * 1024 * 1024; ++chapter) {
                QByteArray text = "CHAPTER " + QByteArray::number(chapter) + ".\n\n";
                for (int w = 0; w < 3000; ++w)
                    text += words[int(rng.bounded(words.size()))] + (w % 60 == 59 ? ".\n\n" : " ");
                f.write(text + "\n\n");
            }
        }
        auto op = [&](Database& db, const Library&) {
            mm::import::ImportOptions options;
            options.streamAboveBytes = 0;
            mm::import::importFile(db, book, options);
        };
        // What a clean import stores, in a library of its own.
        qint64 characters = 0;
        int passages = 0;
        {
            Database reference(m_dir.filePath(QStringLiteral("large-reference-%1.sqlite3").arg(fault)));
            const mm::import::ImportResult r = mm::import::importFile(reference, book);
            characters = r.characters;
            passages = r.passages;
        }
        auto done = [&](Database& db, const Library&) {
            const std::optional<qint64> id = db.documentByHash(mm::import::fileContentHash(book));
            QVERIFY(id);
            QCOMPARE(db.document(*id)->characters, characters);
            QCOMPARE(db.passageCount(*id), passages);
            QCOMPARE(db.documentText(*id, characters - 20).size(), 20);
        };
        underEveryFault(QStringLiteral("large import, %1").arg(QLatin1String(QTest::currentDataTag())), FaultVfs::Fault(fault),
                        persistent, op, done, 12);
    }

    void ingestUnderFaults_data()
    {
        QTest::addColumn<int>("fault");
        QTest::addColumn<bool>("persistent");
        QTest::newRow("io error") << int(FaultVfs::Fault::IoError) << false;
        QTest::newRow("disk full") << int(FaultVfs::Fault::DiskFull) << true;
    }

    void ingestUnderFaults()
    {
        QFETCH(int, fault);
        QFETCH(bool, persistent);
        auto op = [](Database& db, const Library& lib) { ingest(db, lib.plainDoc, kNewProducer, kIngestSteps); };
        auto done = [](Database& db, const Library& lib) {
            MemoryStore store(db);
            QCOMPARE(db.document(lib.plainDoc)->status, QStringLiteral("ready"));
            QCOMPARE(db.document(lib.plainDoc)->tokens, kIngestSteps * kStepTokens);
            QCOMPARE(store.blocks(lib.plainDoc, kNewProducer).size(), kIngestSteps);
            QCOMPARE(checkMemoryPrefix(db, lib.plainDoc, kNewProducer), QString());
        };
        underEveryFault(QStringLiteral("ingest, %1").arg(QLatin1String(QTest::currentDataTag())), FaultVfs::Fault(fault), persistent, op, done);
    }

    void messagesNameTheCause()
    {
        // The product's mapping, for the codes a real disk gives (not only the injected).
        using mm::storage::sql::errorFor;
        QVERIFY(QString::fromUtf8(errorFor(SQLITE_FULL, QStringLiteral("x"), QStringLiteral("database or disk is full")).what())
                    .startsWith(QStringLiteral("the disk is full: x (SQLite error 13")));
        QCOMPARE(errorFor(SQLITE_IOERR_FSYNC, QStringLiteral("x"), QStringLiteral("disk I/O error")).cause(),
                 StorageError::Cause::IoError);
        QVERIFY(QString::fromUtf8(errorFor(SQLITE_BUSY, QStringLiteral("x"), QStringLiteral("database is locked")).what())
                    .startsWith(QStringLiteral("the library is busy: ")));
        QCOMPARE(errorFor(SQLITE_READONLY_DBMOVED, QStringLiteral("x"), QStringLiteral("y")).cause(), StorageError::Cause::ReadOnly);
        QCOMPARE(errorFor(SQLITE_CORRUPT, QStringLiteral("x"), QStringLiteral("y")).cause(), StorageError::Cause::Corrupt);
        QCOMPARE(errorFor(SQLITE_CONSTRAINT_UNIQUE, QStringLiteral("x"), QStringLiteral("y")).cause(), StorageError::Cause::Other);
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestStorageFaults)
#include "tst_storage_faults.moc"
