// EPUB 2/3, HTML and PDF import of real books made from public-domain text
// (tests/data/formats, built by make_fixtures.py), every hostile or broken input with
// its message (and nothing stored lost), page numbers through storage and search, the
// mostly-UTF-8 decision, and incremental folder import.
#include "storage/import/epub_reader.h"
#include "storage/import/html_text.h"
#include "storage/import/importer.h"
#include "storage/import/pdf_reader.h"
#include "storage/import/text_decoding.h"
#include "storage/import/zip_archive.h"

#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace mm::import;
using mm::storage::Database;

namespace {

QString formats(const QString& name)
{
    return QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/formats/") + name;
}

QString hostile(const QString& name)
{
    return formats(QStringLiteral("hostile/") + name);
}

QStringList titles(const QVector<ImportedChapter>& chapters)
{
    QStringList list;
    for (const ImportedChapter& c : chapters)
        list << c.title;
    return list;
}

QString importError(Database& db, const QString& path)
{
    try {
        importFile(db, path);
    } catch (const ImportError& e) {
        return QString::fromUtf8(e.what());
    }
    return QStringLiteral("(imported without error)");
}

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

void writeAll(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    QCOMPARE(f.write(bytes), qint64(bytes.size()));
}

const QString kChapter2 = QStringLiteral(
    "Chapter 2. In which Timely Provision is made for an Emergency that will sometimes arise in the best-regulated Families.");

}  // namespace

class TestStorageFormats : public QObject {
    Q_OBJECT

private slots:
    void init() { QVERIFY(m_dir.isValid()); }

    void epub3Book()
    {
        const ImportedDocument doc = ReaderRegistry::instance().readerForContent(formats("dombey_epub3.epub"))
                                         ->read(formats("dombey_epub3.epub"));
        QCOMPARE(doc.format, QStringLiteral("epub"));
        QCOMPARE(doc.title, QStringLiteral("Dombey and Son"));
        QCOMPARE(doc.author, QStringLiteral("Charles Dickens"));
        // From the nav document's toc (not its landmarks), pointing at the headings.
        QCOMPARE(titles(doc.chapters), QStringList({QStringLiteral("Chapter 1. Dombey and Son"), kChapter2}));
        QCOMPARE(doc.chapters[0].utf16Offset, qint64(0));
        QVERIFY(doc.text.mid(doc.chapters[1].utf16Offset).startsWith(QStringLiteral("Chapter 2.\nIn which Timely")));
        // Spine order, paragraphs kept, entities decoded, scripts/styles/images/titles gone.
        QVERIFY(doc.text.startsWith(QStringLiteral("Chapter 1.\nDombey and Son\n\nDombey sat in the corner")));
        QVERIFY(doc.text.indexOf(QStringLiteral("Dombey sat")) < doc.text.indexOf(QStringLiteral("In which Timely")));
        QVERIFY(doc.text.contains(QStringLiteral("\n\nDombey was about eight-and-forty years of age.")));
        QVERIFY(doc.text.contains(QChar(0x2019)));
        for (const char* hidden : {"SCRIPT TEXT", "ALT TEXT", "text-indent", "margin", "<p>", "&#"})
            QVERIFY2(!doc.text.contains(QLatin1String(hidden)), hidden);
        QVERIFY(!doc.text.contains(QStringLiteral("\n\n\n")));
    }

    void epub2BookWithNcxAndBrokenXhtml()
    {
        const ImportedDocument doc = EpubReader().read(formats("dombey_epub2.epub"));
        QCOMPARE(doc.title, QStringLiteral("Dombey and Son (EPUB 2)"));
        QCOMPARE(doc.author, QStringLiteral("Charles Dickens"));
        QCOMPARE(titles(doc.chapters), QStringList({QStringLiteral("Chapter 1. Dombey and Son"), kChapter2}));
        // The NCX points at whole files: the chapter starts where its file's text does.
        QVERIFY(doc.text.mid(doc.chapters[1].utf16Offset).startsWith(QStringLiteral("Chapter 2.")));
        // <br> without a closing slash (not XML) still parses as a line break.
        QVERIFY(doc.text.startsWith(QStringLiteral("Chapter 1.\nDombey and Son\n\n")));
    }

    void htmlBook()
    {
        Database db(m_dir.filePath(QStringLiteral("html.sqlite3")));
        const ImportResult r = importFile(db, formats("dombey.html"));
        QCOMPARE(r.title, QStringLiteral("Dombey and Son"));
        const auto record = db.document(r.docId);
        QCOMPARE(record->format, QStringLiteral("html"));
        QCOMPARE(record->author, QStringLiteral("Charles Dickens"));
        const auto chapters = db.chapters(r.docId);
        QCOMPARE(chapters.size(), 2);  // the h2s; the lone h1 is the book's title
        QCOMPARE(chapters[0].title, QStringLiteral("Chapter 1. Dombey and Son"));
        const QString text = db.documentText(r.docId);
        QVERIFY(text.startsWith(QStringLiteral("Dombey and Son\n\nBy Charles Dickens \u2014 an excerpt & a test.\n\n")));
        QCOMPARE(db.documentText(r.docId, chapters[1].charOffset, chapters[1].charOffset + 10), QStringLiteral("Chapter 2."));
        QVERIFY(!text.contains(QStringLiteral("SCRIPT")));
        QVERIFY(!text.contains(QStringLiteral("font-family")));
        for (const auto& p : db.passages(r.docId))
            QCOMPARE(p.page, 0);
    }

    void htmlToTextRules()
    {
        const HtmlText t = htmlToText(
            "<html><head><title> A \n T </title><script>x()</script></head><body>"
            "<div id=top>one&nbsp;two &lt;3&gt;</div><p>a<br>b</p><pre>  keep\n  this</pre>"
            "<h1>Head</h1><table><tr><td>c1</td><td>c2</td></tr></table><p>&#x1F319; moon</p></body></html>");
        QCOMPARE(t.title, QStringLiteral("A T"));
        QCOMPARE(t.text, QStringLiteral("one two <3>\n\na\nb\n\n  keep\n  this\n\nHead\n\nc1 c2\n\n\U0001F319 moon"));
        QCOMPARE(t.headings.size(), 1);
        QCOMPARE(t.text.mid(t.headings[0].utf16Offset, 4), QStringLiteral("Head"));
        QCOMPARE(t.anchors.value(QStringLiteral("top")), qint64(0));
    }

    void deeplyNestedMarkupIsHarmless()
    {
        // Hostile nesting must not exhaust the stack (the walk is iterative).
        QByteArray html = "<html><body>";
        for (int i = 0; i < 200000; ++i)
            html += "<div><span>";
        html += "deep";
        QElapsedTimer timer;
        timer.start();
        const HtmlText t = htmlToText(html);
        QVERIFY(t.tooDeep);
        QVERIFY(t.text.isEmpty());
        QVERIFY(timer.elapsed() < 2000);
        const QString path = m_dir.filePath(QStringLiteral("deep.html"));
        writeAll(path, html);
        Database db(m_dir.filePath(QStringLiteral("deep.sqlite3")));
        QCOMPARE(importError(db, path),
                 QStringLiteral("'deep.html' nests its markup more than 2000 levels deep: refusing a possibly hostile file"));
        // Just inside the limit: parsed, quickly; unclosed paragraphs do not count.
        QByteArray ok = "<html><body>";
        for (int i = 0; i < 1900; ++i)
            ok += "<div>";
        for (int i = 0; i < 20000; ++i)
            ok += "<p>para";
        QCOMPARE(estimatedMarkupDepth(ok), 1900);
        timer.restart();
        const HtmlText parsed = htmlToText(ok);
        QVERIFY(!parsed.tooDeep);
        QVERIFY(parsed.text.startsWith(QStringLiteral("para\n\npara")));
        QVERIFY2(timer.elapsed() < 10000, qPrintable(QString::number(timer.elapsed())));
    }

    void pdfBookKeepsPages()
    {
        Database db(m_dir.filePath(QStringLiteral("pdf.sqlite3")));
        const ImportResult r = importFile(db, formats("dombey.pdf"));
        const auto record = db.document(r.docId);
        QCOMPARE(record->format, QStringLiteral("pdf"));
        QCOMPARE(record->title, QStringLiteral("Dombey and Son"));
        QCOMPARE(record->author, QStringLiteral("Charles Dickens"));
        const auto chapters = db.chapters(r.docId);
        QCOMPARE(chapters.size(), 2);
        QCOMPARE(chapters[1].title, QStringLiteral("Chapter 2. In which Timely Provision is made for an Emergency that will "
                                                   "sometimes arise in the best-regulated Families."));
        QVERIFY(db.documentText(r.docId, chapters[1].charOffset).startsWith(QStringLiteral("Chapter 2.")));
        const QString text = db.documentText(r.docId);
        QVERIFY(text.contains(QStringLiteral("Dombey sat in the corner of the darkened room")));
        // Paragraph breaks restored after short lines (a PDF has only lines).
        QVERIFY(text.startsWith(QStringLiteral("Chapter 1. Dombey and Son\n\nDombey sat")));
        QCOMPARE(markParagraphs(QStringLiteral("a long line of text here\na long line of text here\nshort.\n"
                                               "a long line of text here\na long line of text here\nend")),
                 QStringLiteral("a long line of text here\na long line of text here\nshort.\n\n"
                                "a long line of text here\na long line of text here\nend"));
        // Every passage has a page, non-decreasing, from 1 to the last page (5).
        const auto passages = db.passages(r.docId);
        QVERIFY(passages.size() >= 3);
        int previous = 1;
        for (const auto& p : passages) {
            QVERIFY(p.page >= previous);
            previous = p.page;
        }
        QCOMPARE(passages.first().page, 1);
        QVERIFY(passages.last().page >= 4 && passages.last().page <= 5);
        // Chapter 2 begins on a new page: the passage holding its heading starts there.
        bool chapter2 = false;
        for (const auto& p : passages)
            if (p.chapterIndex == 1 && p.charStart == chapters[1].charOffset) {
                chapter2 = true;
                QVERIFY(p.page >= 3);
            }
        QVERIFY(chapter2);
        // Search hits carry the page of their passage.
        const auto hits = db.search(QStringLiteral("Timely Provision"));
        QVERIFY(!hits.isEmpty());
        for (const auto& hit : hits) {
            QVERIFY(hit.page >= 1);
            for (const auto& p : passages)
                if (p.id == hit.passageId)
                    QCOMPARE(hit.page, p.page);
        }
    }

    void pdfWithoutOutlineFindsHeadingsInText()
    {
        Database db(m_dir.filePath(QStringLiteral("plain.sqlite3")));
        const ImportResult r = importFile(db, formats("dombey_no_outline.pdf"));
        const auto chapters = db.chapters(r.docId);
        QCOMPARE(chapters.size(), 2);
        QVERIFY2(chapters[0].title.startsWith(QStringLiteral("Chapter 1")), qPrintable(chapters[0].title));
        QVERIFY(db.documentText(r.docId, chapters[1].charOffset).startsWith(QStringLiteral("Chapter 2.")));
        QVERIFY(db.passages(r.docId).last().page >= 4);
    }

    void gutenbergHtmlTitle()
    {
        const QString path = m_dir.filePath(QStringLiteral("pg.html"));
        writeAll(path, "<html><head><title>The Project Gutenberg eBook of Dombey and Son, by Charles Dickens</title></head>"
                       "<body><h1>DOMBEY AND SON</h1><p>Text.</p></body></html>");
        Database db(m_dir.filePath(QStringLiteral("pg.sqlite3")));
        const ImportResult r = importFile(db, path);
        QCOMPARE(r.title, QStringLiteral("Dombey and Son"));
        QCOMPARE(db.document(r.docId)->author, QStringLiteral("Charles Dickens"));
    }

    void hostileInputs_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("message");
        QTest::newRow("empty") << QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/empty.txt") << QStringLiteral("'empty.txt' is empty");
        QTest::newRow("binary with a text suffix") << QStringLiteral(MEMMAMBA_TEST_DATA_DIR "/binary.txt")
                                                   << QStringLiteral("'binary.txt' looks like a binary file, not text (NUL byte at offset 8)");
        QTest::newRow("pdf named .txt") << hostile("pdf_as.txt")
                                        << QStringLiteral("'pdf_as.txt' is really a PDF document, not TXT: rename it to .pdf to import it");
        QTest::newRow("epub named .txt") << hostile("epub_as.txt")
                                         << QStringLiteral("'epub_as.txt' is really a zip archive, not TXT (an EPUB? rename it to .epub to import it)");
        QTest::newRow("zip bomb by ratio") << hostile("bomb_ratio.epub")
                                           << QStringLiteral("'bomb_ratio.epub' has an entry compressed more than 200 to 1 ('OEBPS/bomb.xhtml'): refusing a possible zip bomb");
        QTest::newRow("zip bomb by size") << hostile("bomb_declared.epub")
                                          << QStringLiteral("'bomb_declared.epub' expands to more than 64 MB: refusing a possible zip bomb");
        QTest::newRow("path traversal") << hostile("traversal.epub")
                                        << QStringLiteral("'traversal.epub' has an entry that climbs out of the archive: '../../etc/passwd'");
        QTest::newRow("truncated epub") << hostile("truncated.epub")
                                        << QStringLiteral("'truncated.epub' is not a valid zip archive (truncated or damaged: Not a zip archive)");
        QTest::newRow("no container") << hostile("no_container.epub")
                                      << QStringLiteral("'no_container.epub' has no META-INF/container.xml: it is not an EPUB, or a damaged one");
        QTest::newRow("missing package") << hostile("missing_opf.epub")
                                         << QStringLiteral("'missing_opf.epub' is missing its package document 'OEBPS/content.opf'");
        QTest::newRow("malformed package") << hostile("malformed_opf.epub")
                                           << QStringLiteral("'malformed_opf.epub' has a malformed package document 'OEBPS/content.opf': Start-end tags mismatch at byte 53");
        QTest::newRow("no spine") << hostile("no_spine.epub")
                                  << QStringLiteral("'no_spine.epub' has a malformed package document 'OEBPS/content.opf': no <spine>");
        QTest::newRow("unknown spine item") << hostile("unknown_spine_item.epub")
                                            << QStringLiteral("'unknown_spine_item.epub' has a spine entry 'c9' that is not in its manifest");
        QTest::newRow("missing spine file") << hostile("missing_spine_file.epub")
                                            << QStringLiteral("'missing_spine_file.epub' is missing 'OEBPS/c1.xhtml', named in its spine");
        QTest::newRow("reference climbs out") << hostile("manifest_climbs.epub")
                                              << QStringLiteral("'manifest_climbs.epub' has a reference that climbs out of the archive: '../../../secret.xhtml'");
        QTest::newRow("no text") << hostile("no_text.epub") << QStringLiteral("'no_text.epub' has no readable text in its spine");
        QTest::newRow("damaged entry") << hostile("damaged_entry.epub")
                                       << QStringLiteral("'damaged_entry.epub' has a damaged entry 'OEBPS/ch1.xhtml' (truncated or corrupt: Zlib error: data error)");
        QTest::newRow("encrypted pdf") << hostile("encrypted.pdf")
                                       << QStringLiteral("'encrypted.pdf' is encrypted with a password: remove the protection (for example "
                                                         "'qpdf --decrypt --password=... in.pdf out.pdf') and import it again");
        QTest::newRow("truncated pdf") << hostile("truncated.pdf")
                                       << QStringLiteral("'truncated.pdf' is truncated: it does not end with the %%EOF marker (an incomplete download?)");
    }

    void hostileInputs()
    {
        QFETCH(QString, path);
        QFETCH(QString, message);
        // Into a library that already holds a book: a refused file leaves it as it was.
        Database db(m_dir.filePath(QStringLiteral("hostile.sqlite3")));
        const ImportResult book = importFile(db, formats("dombey_epub3.epub"));
        const QString before = db.documentText(book.docId);
        QCOMPARE(importError(db, path), message);
        QCOMPARE(db.documents().size(), 1);
        QCOMPARE(db.documentText(book.docId), before);
        QCOMPARE(db.passages(book.docId).size(), book.passages);
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));
    }

    void zipLimitsAreConfigurable()
    {
        const QByteArray epub = readAll(formats("dombey_epub3.epub"));
        ZipLimits tight;
        tight.maxTotalBytes = 10 * 1024;
        try {
            ZipArchive(epub, QStringLiteral("x.epub"), tight);
            QFAIL("the limit was not applied");
        } catch (const ImportError& e) {
            QCOMPARE(QString::fromUtf8(e.what()), QStringLiteral("'x.epub' expands to more than 0 MB: refusing a possible zip bomb"));
        }
        ZipArchive fine(epub, QStringLiteral("x.epub"));
        QVERIFY(fine.contains(QStringLiteral("OEBPS/ch1.xhtml")));
        QVERIFY(fine.read(QStringLiteral("mimetype")) == "application/epub+zip");
        QVERIFY_THROWS_EXCEPTION(ImportError, fine.read(QStringLiteral("OEBPS/none.xhtml")));
    }

    void epubSpineAndReferencesChecked()
    {
        // A spine entry missing from the archive, and one whose href climbs out.
        const QByteArray epub = readAll(formats("dombey_epub3.epub"));
        QVERIFY_THROWS_EXCEPTION(ImportError, readEpubBytes(epub.left(100), QStringLiteral("cut.epub")));
        QCOMPARE(QString::fromStdString([&] {
                     try {
                         readEpubBytes(QByteArray(), QStringLiteral("none.epub"));
                     } catch (const ImportError& e) {
                         return std::string(e.what());
                     }
                     return std::string();
                 }()),
                 QStringLiteral("'none.epub' is empty"));
    }

    void mostlyUtf8KeepsUtf8WithAWarning()
    {
        Database db(m_dir.filePath(QStringLiteral("utf8.sqlite3")));
        const ImportResult r = importFile(db, hostile("mostly_utf8.txt"));
        QCOMPARE(r.warning, QStringLiteral("'mostly_utf8.txt' is mostly UTF-8 but has 3 invalid bytes (the first at offset 3003); "
                                           "each was replaced by U+FFFD"));
        const QString text = db.documentText(r.docId);
        QVERIFY(text.contains(QStringLiteral("caf\uFFFD ")));
        QVERIFY(text.contains(QChar(0x2019)));  // the real UTF-8 apostrophes survive
        // Not mostly UTF-8: windows-1252 for the whole file, as before, no warning.
        const DecodedText cp = decodeText(QByteArray("caf\xe9 \x93quoted\x94"));
        QCOMPARE(cp.encoding, QStringLiteral("windows-1252"));
        QCOMPARE(cp.text, QStringLiteral("caf\u00E9 \u201Cquoted\u201D"));
        QVERIFY(cp.warning.isEmpty());
    }

    void utf8ScannerAcrossPieces()
    {
        const QByteArray text = QStringLiteral("a\u00E9\u20AC\U0001F319z").toUtf8();
        for (int cut = 0; cut <= text.size(); ++cut) {
            Utf8Scanner scan;
            scan.feed(text.constData(), cut);
            scan.feed(text.constData() + cut, text.size() - cut);
            scan.finish();
            QVERIFY2(scan.valid(), qPrintable(QString::number(cut)));
            QCOMPARE(scan.multiByteSequences(), qint64(3));
        }
        Utf8Scanner truncated;
        truncated.feed("ab\xE2\x82", 4);
        truncated.finish();
        QCOMPARE(truncated.invalidBytes(), qint64(1));
        QCOMPARE(truncated.firstInvalidOffset(), qint64(2));
        Utf8Scanner overlong;
        overlong.feed("\xC0\xAF\xED\xA0\x80", 5);  // overlong '/', a UTF-16 surrogate
        overlong.finish();
        QVERIFY(!overlong.valid());
    }

    void folderImportIsIncremental()
    {
        QTemporaryDir books;
        QVERIFY(books.isValid());
        QDir(books.path()).mkpath(QStringLiteral("sub"));
        QFile::copy(formats("dombey.html"), books.filePath(QStringLiteral("dombey.html")));
        QFile::copy(formats("dombey_epub2.epub"), books.filePath(QStringLiteral("sub/dombey2.epub")));
        writeAll(books.filePath(QStringLiteral("notes.txt")), "Notes on the harbour.\n\nThe tide came in at noon.\n");
        writeAll(books.filePath(QStringLiteral("cover.jpg")), "\xFF\xD8\xFF not a book");
        writeAll(books.filePath(QStringLiteral("sub/broken.epub")), "PK\x03\x04 cut");

        Database db(m_dir.filePath(QStringLiteral("folder.sqlite3")));
        ImportOptions options;
        options.collection = QStringLiteral("Shelf");
        auto entries = importFolder(db, books.path(), options);
        QCOMPARE(entries.size(), 4);  // cover.jpg is no book
        int imported = 0, failed = 0;
        for (const auto& e : entries) {
            imported += e.outcome == FolderImportEntry::Outcome::Imported;
            if (e.outcome == FolderImportEntry::Outcome::Failed) {
                ++failed;
                QVERIFY2(e.error.startsWith(QStringLiteral("'broken.epub' is not a valid zip archive")), qPrintable(e.error));
            }
        }
        QCOMPARE(imported, 3);
        QCOMPARE(failed, 1);
        const qint64 shelf = db.ensureCollection(QStringLiteral("Shelf"));
        QCOMPARE(db.documents(shelf).size(), 3);

        // Again: nothing changed, nothing read again.
        entries = importFolder(db, books.path(), options);
        int unchanged = 0;
        for (const auto& e : entries)
            unchanged += e.outcome == FolderImportEntry::Outcome::Unchanged;
        QCOMPARE(unchanged, 3);
        QCOMPARE(db.documents().size(), 3);

        // A changed file replaces the document of its path; a new file is added.
        const qint64 oldNotes = [&] {
            for (const auto& d : db.documents(shelf))
                if (d.format == QLatin1String("txt"))
                    return d.id;
            return qint64(0);
        }();
        writeAll(books.filePath(QStringLiteral("notes.txt")), "Notes on the harbour, revised.\n\nThe tide came in at one.\n");
        QFile::copy(formats("dombey.pdf"), books.filePath(QStringLiteral("sub/dombey.pdf")));
        entries = importFolder(db, books.path(), options);
        int replaced = 0, added = 0;
        for (const auto& e : entries) {
            replaced += e.outcome == FolderImportEntry::Outcome::Replaced;
            added += e.outcome == FolderImportEntry::Outcome::Imported;
        }
        QCOMPARE(replaced, 1);
        QCOMPARE(added, 1);
        QCOMPARE(db.documents(shelf).size(), 4);
        QVERIFY(!db.document(oldNotes));
        QCOMPARE(db.search(QStringLiteral("revised")).size(), 1);
        QVERIFY(db.search(QStringLiteral("noon")).isEmpty());
        QCOMPARE(db.integrityCheck(), QStringLiteral("ok"));

        QVERIFY_THROWS_EXCEPTION(ImportError, importFolder(db, books.filePath(QStringLiteral("notes.txt")), options));
    }

private:
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestStorageFormats)
#include "tst_storage_formats.moc"
