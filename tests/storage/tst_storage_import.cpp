// Importers: the reader registry, title/author/chapter heuristics on the fixtures in
// tests/data, decoding (cp1252 fallback, CRLF), refusals with their messages, passage
// splitting, and importFile (idempotency, progress, cancel, code point offsets).
#include "storage/import/importer.h"
#include "storage/import/text_reader.h"
#include "storage/text_offsets.h"

#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace mm::import;
using mm::storage::CodePointIndex;
using mm::storage::Database;
using mm::storage::PassageSpan;

namespace {

QString fixture(const char* name)
{
    return QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/") + QLatin1String(name);
}

QStringList titles(const QVector<ImportedChapter>& chapters)
{
    QStringList list;
    for (const ImportedChapter& c : chapters)
        list << c.title;
    return list;
}

QString readError(const QString& path)
{
    try {
        ReaderRegistry::instance().readerFor(path)->read(path);
    } catch (const ImportError& e) {
        return QString::fromUtf8(e.what());
    }
    return QString();
}

/// Checks everything splitPassages promises; returns an empty string or the problem.
QString checkPassages(const QString& text, const QVector<ImportedChapter>& chapters, const QVector<PassageSpan>& passages,
                      int minChars, int maxChars)
{
    const CodePointIndex index(text);
    QVector<qint64> starts;
    for (const ImportedChapter& c : chapters)
        starts << index.toCodePoint(c.utf16Offset);
    if (passages.isEmpty())
        return QStringLiteral("no passages");
    qint64 expectedStart = 0;
    for (int i = 0; i < passages.size(); ++i) {
        const PassageSpan& p = passages[i];
        if (p.charStart != expectedStart)
            return QStringLiteral("passage %1 starts at %2, not %3").arg(i).arg(p.charStart).arg(expectedStart);
        if (p.charEnd <= p.charStart)
            return QStringLiteral("passage %1 is empty").arg(i);
        const qint64 length = p.charEnd - p.charStart;
        if (length > maxChars)
            return QStringLiteral("passage %1 has %2 code points, more than %3").arg(i).arg(length).arg(maxChars);
        const bool endsAtBreak = p.charEnd == index.codePointCount() || starts.contains(p.charEnd);
        if (length < minChars && !endsAtBreak)
            return QStringLiteral("passage %1 has %2 code points, fewer than %3, mid-chapter").arg(i).arg(length).arg(minChars);
        int chapter = -1;
        for (int c = 0; c < starts.size(); ++c) {
            if (starts[c] > p.charStart && starts[c] < p.charEnd)
                return QStringLiteral("passage %1 crosses the start of chapter %2").arg(i).arg(c);
            if (starts[c] <= p.charStart)
                chapter = c;
        }
        if (p.chapterIndex != chapter)
            return QStringLiteral("passage %1 says chapter %2, lies in %3").arg(i).arg(p.chapterIndex).arg(chapter);
        const qsizetype from = index.toUtf16(p.charStart);
        if (from > 0 && text[from].isLowSurrogate())
            return QStringLiteral("passage %1 splits a surrogate pair").arg(i);
        expectedStart = p.charEnd;
    }
    if (expectedStart != index.codePointCount())
        return QStringLiteral("passages end at %1, the text at %2").arg(expectedStart).arg(index.codePointCount());
    return QString();
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& bytes)
{
    const QString path = dir.filePath(name);
    QFile f(path);
    if (f.open(QIODevice::WriteOnly))
        f.write(bytes);
    return path;
}

QString longParagraph(int sentences, const QString& seed)
{
    QStringList parts;
    for (int i = 0; i < sentences; ++i)
        parts << QStringLiteral("The %1 number %2 walked along the quay and looked at the boats.").arg(seed).arg(i);
    return parts.join(QLatin1Char(' '));
}

}  // namespace

class TestStorageImport : public QObject {
    Q_OBJECT

private slots:
    void init() { QVERIFY(m_dir.isValid()); }

    void registryPicksReaderBySuffix()
    {
        const ReaderRegistry& registry = ReaderRegistry::instance();
        QCOMPARE(registry.readerFor(QStringLiteral("/a/b.txt"))->format(), QStringLiteral("txt"));
        QCOMPARE(registry.readerFor(QStringLiteral("/a/b.TEXT"))->format(), QStringLiteral("txt"));
        QCOMPARE(registry.readerFor(QStringLiteral("b.md"))->format(), QStringLiteral("md"));
        QCOMPARE(registry.readerFor(QStringLiteral("b.markdown"))->format(), QStringLiteral("md"));
#if MEMMAMBA_TEST_IMPORT_FORMATS
        QCOMPARE(registry.readerFor(QStringLiteral("b.pdf"))->format(), QStringLiteral("pdf"));
        QCOMPARE(registry.readerFor(QStringLiteral("b.EPUB"))->format(), QStringLiteral("epub"));
        QCOMPARE(registry.readerFor(QStringLiteral("b.htm"))->format(), QStringLiteral("html"));
        QVERIFY(registry.readerFor(QStringLiteral("b.pdf"))->capabilities() & Pages);
#else
        // Built with MEMMAMBA_IMPORT_FORMATS=OFF: plain text and Markdown only.
        QVERIFY(registry.readerFor(QStringLiteral("b.pdf")) == nullptr);
        QVERIFY(registry.readerFor(QStringLiteral("b.EPUB")) == nullptr);
        QVERIFY(registry.readerFor(QStringLiteral("b.htm")) == nullptr);
#endif
        QVERIFY(registry.readerFor(QStringLiteral("b.docx")) == nullptr);
        QVERIFY(registry.supportedSuffixes().contains(QStringLiteral("md")));
        QVERIFY(registry.readerFor(QStringLiteral("b.txt"))->capabilities() & Chapters);
    }

    void plainTextBook()
    {
        const ImportedDocument doc = PlainTextReader().read(fixture("harbour_wall.txt"));
        QCOMPARE(doc.title, QStringLiteral("The Harbour Wall"));
        QCOMPARE(doc.author, QStringLiteral("Jane Q. Writer"));
        QCOMPARE(doc.encoding, QStringLiteral("UTF-8"));
        QCOMPARE(doc.format, QStringLiteral("txt"));
        QCOMPARE(doc.contentHash.size(), 64);
        QCOMPARE(titles(doc.chapters), (QStringList{QStringLiteral("CHAPTER I. THE CAPTAIN"), QStringLiteral("CHAPTER II. The Storm"),
                                                    QStringLiteral("CHAPTER III. Home")}));
        // Offsets point at the heading in the text, not at the contents list.
        for (const ImportedChapter& c : doc.chapters)
            QVERIFY(doc.text.mid(c.utf16Offset).startsWith(QStringLiteral("CHAPTER I")));
        QVERIFY(doc.chapters[0].utf16Offset > doc.text.indexOf(QStringLiteral("    CHAPTER III. Home")));
    }

    void chapterHeadingForms()
    {
        const ImportedDocument doc = PlainTextReader().read(fixture("lanterns.txt"));
        QCOMPARE(doc.title, QStringLiteral("Lanterns"));
        QCOMPARE(doc.author, QStringLiteral("Tom Harbinger"));
        QCOMPARE(titles(doc.chapters),
                 (QStringList{QStringLiteral("PART ONE"),
                              QStringLiteral("Chapter 1. In which a Lantern is lit and a Journey is begun in the Rain"),
                              QStringLiteral("Chapter 2"), QStringLiteral("BOOK II"), QStringLiteral("Chapter Three"),
                              QStringLiteral("Chapter iv: The Ferry")}));
    }

    void markdownHeadings()
    {
        const ImportedDocument doc = MarkdownReader().read(fixture("tides.md"));
        QCOMPARE(doc.format, QStringLiteral("md"));
        QCOMPARE(doc.title, QStringLiteral("Notes on Tides"));
        QCOMPARE(doc.author, QStringLiteral("Ada Marsh"));
        // "# comment" inside a code block and "###" are not chapters.
        QCOMPARE(titles(doc.chapters),
                 (QStringList{QStringLiteral("Notes on Tides"), QStringLiteral("The Moon"), QStringLiteral("The Sun")}));
        QVERIFY(doc.text.mid(doc.chapters[1].utf16Offset).startsWith(QStringLiteral("## The Moon")));
        QCOMPARE(detectMarkdownChapters(QStringLiteral("no headings\n#hashtag\n")).size(), 0);
    }

    void cp1252FallbackAndLineEndings()
    {
        const ImportedDocument doc = PlainTextReader().read(fixture("cp1252.txt"));
        QCOMPARE(doc.encoding, QStringLiteral("windows-1252"));
        QVERIFY(!doc.text.contains(QLatin1Char('\r')));
        QVERIFY2(doc.text.contains(QStringLiteral("\u201CQuoted,\u201D she said \u2013 it cost 5\u20AC\u2026 na\u00EFve.\nSecond line\nthird line.")),
                 qPrintable(doc.text));
        QCOMPARE(doc.title, QStringLiteral("Caf\u00E9 Society"));
        QCOMPARE(doc.author, QStringLiteral("Ren\u00E9e Dupont"));
        QCOMPARE(doc.bytes, QFileInfo(fixture("cp1252.txt")).size());
    }

    void utf8BomIsDropped()
    {
        const QString path = writeFile(m_dir, QStringLiteral("bom.txt"), QByteArray("\xEF\xBB\xBFna\xC3\xAFve text\r\n"));
        const ImportedDocument doc = PlainTextReader().read(path);
        QCOMPARE(doc.encoding, QStringLiteral("UTF-8"));
        QCOMPARE(doc.text, QStringLiteral("na\u00EFve text\n"));
    }

    void refusesEmptyAndBinaryFiles()
    {
        QCOMPARE(readError(fixture("empty.txt")), QStringLiteral("'empty.txt' is empty"));
        QCOMPARE(readError(fixture("whitespace.txt")), QStringLiteral("'whitespace.txt' is empty"));
        const QString binary = readError(fixture("binary.txt"));
        QVERIFY2(binary.startsWith(QStringLiteral("'binary.txt' looks like a binary file, not text")), qPrintable(binary));
        QVERIFY2(binary.contains(QStringLiteral("NUL byte at offset 8")), qPrintable(binary));
        // Control characters without NULs are caught too.
        QByteArray controls;
        for (int i = 0; i < 400; ++i)
            controls += (i % 3 == 0) ? '\x01' : 'a';
        const QString path = writeFile(m_dir, QStringLiteral("controls.txt"), controls);
        QVERIFY(readError(path).contains(QStringLiteral("looks like a binary file, not text")));
        QVERIFY(readError(m_dir.filePath(QStringLiteral("missing.txt"))).contains(QStringLiteral("does not exist")));

        Database db(m_dir.filePath(QStringLiteral("refuse.sqlite3")));
        try {
            importFile(db, writeFile(m_dir, QStringLiteral("book.docx"), "PK\x03\x04"));
            QFAIL("a .docx was imported");
        } catch (const ImportError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("'book.docx' has an unsupported format")), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(ImportError, importFile(db, fixture("empty.txt")));
        QVERIFY(db.documents().isEmpty());
    }

    void importIsIdempotent()
    {
        Database db(m_dir.filePath(QStringLiteral("idem.sqlite3")));
        const ImportResult first = importFile(db, fixture("harbour_wall.txt"));
        QVERIFY(!first.alreadyPresent);
        QCOMPARE(first.chapters, 3);
        QVERIFY(first.passages >= 3);
        // The same bytes under another name are the same document.
        QFile::copy(fixture("harbour_wall.txt"), m_dir.filePath(QStringLiteral("copy.txt")));
        ImportOptions options;
        options.collection = QStringLiteral("Sea");
        const ImportResult second = importFile(db, m_dir.filePath(QStringLiteral("copy.txt")), options);
        QVERIFY(second.alreadyPresent);
        QCOMPARE(second.docId, first.docId);
        QCOMPARE(second.passages, first.passages);
        QCOMPARE(db.documents().size(), 1);
        QCOMPARE(db.collections().size(), 1);
        QCOMPARE(db.collections().first().documentCount, qint64(1));

        const auto record = db.document(first.docId);
        QCOMPARE(record->title, QStringLiteral("The Harbour Wall"));
        QCOMPARE(record->author, QStringLiteral("Jane Q. Writer"));
        const auto stored = db.chapters(first.docId);
        QCOMPARE(stored.size(), 3);
        QVERIFY(db.documentText(first.docId, stored[1].charOffset).startsWith(QStringLiteral("CHAPTER II.")));
        const auto hits = db.search(QStringLiteral("The lighthouse keeper lit the great lamp"));
        QVERIFY(!hits.isEmpty());
        QCOMPARE(hits.first().chapterTitle, QStringLiteral("CHAPTER II. The Storm"));
        QCOMPARE(db.documentText(hits.first().docId, hits.first().charStart, hits.first().charEnd), hits.first().text);
    }

    void passagesTileTextWithinBounds()
    {
        // Short and long paragraphs, a paragraph far longer than maxChars, one enormous
        // "word", blank lines of spaces and chapters of all sizes.
        QString text = QStringLiteral("Opening words before any chapter.\n\n");
        QVector<ImportedChapter> chapters;
        for (int c = 0; c < 6; ++c) {
            chapters.push_back({QStringLiteral("Chapter %1").arg(c + 1), text.size()});
            text += QStringLiteral("CHAPTER %1\n\n").arg(c + 1);
            for (int p = 0; p < c * 4; ++p)
                text += longParagraph(1 + (p * 7) % 13, QStringLiteral("sailor")) + QStringLiteral("\n  \n");
            if (c == 3)
                text += longParagraph(120, QStringLiteral("walker")) + QStringLiteral("\n\n");
            if (c == 4)
                text += QString(5000, QLatin1Char('x')) + QStringLiteral("\n");
        }
        const QVector<PassageSpan> passages = splitPassages(text, chapters, 1000, 2000);
        const QString problem = checkPassages(text, chapters, passages, 1000, 2000);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        // Most cuts fall on paragraph starts.
        int paragraphCuts = 0;
        for (const PassageSpan& p : passages)
            paragraphCuts += p.charStart == 0 || text.mid(p.charStart - 2, 2).endsWith(QLatin1Char('\n'));
        QVERIFY(paragraphCuts * 2 > passages.size());

        const QVector<PassageSpan> small = splitPassages(text, chapters, 200, 500);
        const QString smallProblem = checkPassages(text, chapters, small, 200, 500);
        QVERIFY2(smallProblem.isEmpty(), qPrintable(smallProblem));
        QVERIFY(small.size() > passages.size());
    }

    void surrogatePairsKeepOffsets()
    {
        // Emoji and mathematical letters (outside the BMP) all through the text.
        QString body;
        for (int i = 0; i < 300; ++i)
            body += QStringLiteral("Star \U0001F31F number %1 shines over \U0001D4D0lbion tonight. ").arg(i)
                    + (i % 9 == 8 ? QStringLiteral("\n\n") : QString());
        const QString text = QStringLiteral("\U0001F30A Tide Book\n\nCHAPTER I.\n\n") + body
                             + QStringLiteral("\n\nCHAPTER II.\n\n") + body;
        const QString path = writeFile(m_dir, QStringLiteral("emoji.txt"), text.toUtf8());
        const ImportedDocument imported = PlainTextReader().read(path);
        QCOMPARE(imported.chapters.size(), 2);
        const QVector<PassageSpan> spans = splitPassages(imported.text, imported.chapters);
        const QString problem = checkPassages(imported.text, imported.chapters, spans, 1000, 2000);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));

        Database db(m_dir.filePath(QStringLiteral("emoji.sqlite3")));
        const ImportResult result = importFile(db, path);
        QCOMPARE(result.characters, CodePointIndex(text).codePointCount());
        QVERIFY(result.characters < text.size());
        for (const auto& chapter : db.chapters(result.docId))
            QVERIFY(db.documentText(result.docId, chapter.charOffset, chapter.charOffset + 7) == QStringLiteral("CHAPTER"));
        for (const auto& p : db.passages(result.docId))
            QCOMPARE(p.text, db.documentText(result.docId, p.charStart, p.charEnd));
        const auto hits = db.search(QStringLiteral("number 150 shines"), 5, result.docId);
        QVERIFY(!hits.isEmpty());
        QVERIFY(hits.first().text.contains(QStringLiteral("Star \U0001F31F number 150 shines")));
        QCOMPARE(db.documentText(result.docId, hits.first().charStart, hits.first().charEnd), hits.first().text);
    }

    void progressAndCancel()
    {
        Database db(m_dir.filePath(QStringLiteral("cancel.sqlite3")));
        std::atomic_bool cancel{false};
        ImportOptions options;
        options.cancel = &cancel;
        QStringList stages;
        options.progress = [&](double, const QString& stage) {
            stages << stage;
            if (stage == QLatin1String("passages"))
                cancel = true;  // the user presses Cancel while passages are cut
        };
        QVERIFY_THROWS_EXCEPTION(ImportCancelled, importFile(db, fixture("harbour_wall.txt"), options));
        QVERIFY(db.documents().isEmpty());
        QCOMPARE(stages, (QStringList{QStringLiteral("reading"), QStringLiteral("passages")}));

        cancel = false;
        stages.clear();
        QVector<double> fractions;
        options.progress = [&](double f, const QString& stage) {
            stages << stage;
            fractions << f;
        };
        importFile(db, fixture("harbour_wall.txt"), options);
        QCOMPARE(db.documents().size(), 1);
        QCOMPARE(stages.first(), QStringLiteral("reading"));
        QCOMPARE(stages.last(), QStringLiteral("storing"));
        QCOMPARE(fractions.last(), 1.0);
        QVERIFY(std::is_sorted(fractions.begin(), fractions.end()));
    }

    /// Timing on a real book: MEMMAMBA_IMPORT_BENCH=/path/to/book.txt (e.g. Dombey and
    /// Son, uga_821.txt of the corpus). Skipped without it.
    void importLargeBookTiming()
    {
        const QString path = qEnvironmentVariable("MEMMAMBA_IMPORT_BENCH");
        if (path.isEmpty())
            QSKIP("set MEMMAMBA_IMPORT_BENCH to a book to time its import");
        Database db(m_dir.filePath(QStringLiteral("bench.sqlite3")));
        QElapsedTimer timer;
        timer.start();
        const ImportedDocument doc = ReaderRegistry::instance().readerFor(path)->read(path);
        const qint64 readMs = timer.elapsed();
        const QVector<PassageSpan> spans = splitPassages(doc.text, doc.chapters);
        const qint64 splitMs = timer.elapsed() - readMs;
        const QString problem = checkPassages(doc.text, doc.chapters, spans, 1000, 2000);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        timer.restart();
        const ImportResult result = importFile(db, path);
        const qint64 importMs = timer.elapsed();
        qInfo("%s: %lld bytes, '%s' by '%s', %d chapters, %d passages; read %lld ms, split %lld ms, full import %lld ms",
              qPrintable(path), doc.bytes, qPrintable(doc.title), qPrintable(doc.author), result.chapters, result.passages,
              readMs, splitMs, importMs);
        for (int i = 0; i < doc.chapters.size() && i < 6; ++i)
            qInfo("  chapter %d: %s", i, qPrintable(doc.chapters[i].title));
        QVERIFY(importMs < 2000);
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestStorageImport)
#include "tst_storage_import.moc"
