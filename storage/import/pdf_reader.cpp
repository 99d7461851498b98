#include "storage/import/pdf_reader.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>
#include <QPdfBookmarkModel>
#include <QPdfDocument>
#include <QPdfSelection>
#include <QRegularExpression>

#include <algorithm>

namespace mm::import {
namespace {

[[noreturn]] void refuse(const QFileInfo& info, const QString& problem)
{
    throw ImportError(QStringLiteral("'%1' %2").arg(info.fileName(), problem).toStdString());
}

struct OutlineEntry {
    QString title;
    int level = 0;
    int page = 0;  ///< 0-based
};

void collectOutline(const QAbstractItemModel& model, const QModelIndex& parent, QVector<OutlineEntry>& out, int depth)
{
    if (depth > 64)  // a hostile outline can nest without end
        return;
    for (int row = 0; row < model.rowCount(parent); ++row) {
        const QModelIndex index = model.index(row, 0, parent);
        out.push_back({index.data(int(QPdfBookmarkModel::Role::Title)).toString().simplified(),
                       index.data(int(QPdfBookmarkModel::Role::Level)).toInt(),
                       index.data(int(QPdfBookmarkModel::Role::Page)).toInt()});
        collectOutline(model, index, out, depth + 1);
    }
}

/// Top-level outline entries are the chapters, unless there is only one (the book's
/// title): then its children are.
QVector<ImportedChapter> outlineChapters(QPdfDocument& pdf, const QString& text, const QVector<qint64>& pageStarts)
{
    QPdfBookmarkModel model;
    model.setDocument(&pdf);
    QVector<OutlineEntry> outline;
    collectOutline(model, QModelIndex(), outline, 0);
    int topLevel = 0;
    for (const OutlineEntry& e : outline)
        topLevel += e.level == 0 ? 1 : 0;
    const int chapterLevel = topLevel == 1 && outline.size() > 1 ? 1 : 0;

    QVector<ImportedChapter> chapters;
    for (const OutlineEntry& e : outline) {
        if (e.level != chapterLevel || e.title.isEmpty() || e.page < 0 || e.page >= pageStarts.size())
            continue;
        // At the heading itself when the page shows the title, else the page's start.
        const qint64 pageStart = pageStarts[e.page];
        const qint64 pageEnd = e.page + 1 < pageStarts.size() ? pageStarts[e.page + 1] : text.size();
        const qsizetype found = QStringView(text).mid(pageStart, pageEnd - pageStart).indexOf(e.title, 0, Qt::CaseInsensitive);
        chapters.push_back({e.title, found >= 0 ? pageStart + found : pageStart});
    }
    std::stable_sort(chapters.begin(), chapters.end(),
                     [](const ImportedChapter& a, const ImportedChapter& b) { return a.utf16Offset < b.utf16Offset; });
    return chapters;
}

}  // namespace

QString cleanPdfPageText(const QString& raw)
{
    QString text;
    text.reserve(raw.size());
    for (qsizetype i = 0; i < raw.size(); ++i) {
        const QChar c = raw.at(i);
        if (c == QLatin1Char('\r')) {
            if (i + 1 < raw.size() && raw.at(i + 1) == QLatin1Char('\n'))
                continue;
            text += QLatin1Char('\n');
        } else if (c == QLatin1Char('\n') || c == QLatin1Char('\t')) {
            text += c;
        } else if (c.category() == QChar::Other_Control || c == QChar(0xFFFE) || c == QChar(0xFFFF)) {
            continue;  // pdfium marks soft hyphens and unknown glyphs with controls
        } else {
            text += c;
        }
    }
    // No blanks before a line end; no blank lines at the page's start or end.
    static const QRegularExpression trailingBlanks(QStringLiteral("[ \\t]+\\n"));
    text.replace(trailingBlanks, QStringLiteral("\n"));
    return markParagraphs(text.trimmed());
}

QString markParagraphs(const QString& page)
{
    // pdfium gives lines, not paragraphs (a PDF has no blank lines, only positions).
    // A line much shorter than the page's usual line ends a paragraph (or is a heading):
    // a blank line after it restores the paragraph breaks that chapter detection and
    // passage cutting look for.
    QStringList lines = page.split(QLatin1Char('\n'));
    QVector<qsizetype> lengths;
    for (const QString& line : lines)
        if (!line.trimmed().isEmpty())
            lengths.push_back(line.size());
    if (lengths.size() < 5)
        return page;
    std::sort(lengths.begin(), lengths.end());
    const qsizetype usual = lengths[lengths.size() / 2];
    QString out;
    out.reserve(page.size() + page.size() / 20);
    for (int i = 0; i < lines.size(); ++i) {
        out += lines[i];
        if (i + 1 == lines.size())
            break;
        out += QLatin1Char('\n');
        const bool shortLine = !lines[i].trimmed().isEmpty() && lines[i].size() * 10 < usual * 7;
        if (shortLine && !lines[i + 1].trimmed().isEmpty())
            out += QLatin1Char('\n');
    }
    return out;
}

ImportedDocument PdfReader::read(const QString& path) const
{
    const QFileInfo info(path);
    if (!info.exists())
        throw ImportError(QStringLiteral("cannot import '%1': the file does not exist").arg(path).toStdString());
    if (info.size() == 0)
        refuse(info, QStringLiteral("is empty"));
    if (info.size() > kMaxFileBytes)
        refuse(info, QStringLiteral("is too large to import (%1 MB; the limit is %2 MB)")
                         .arg(info.size() / (1024 * 1024)).arg(kMaxFileBytes / (1024 * 1024)));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        throw ImportError(QStringLiteral("cannot read '%1': %2").arg(path, file.errorString()).toStdString());
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData(&file);
    // A PDF ends with "%%EOF" (maybe followed by a line end or a little junk); without
    // it the file was cut off and pages or the cross-reference table are missing.
    file.seek(std::max<qint64>(0, info.size() - 2048));
    if (!file.read(2048).contains("%%EOF"))
        refuse(info, QStringLiteral("is truncated: it does not end with the %%EOF marker (an incomplete download?)"));
    file.close();

    QPdfDocument pdf;
    const QPdfDocument::Error error = pdf.load(path);
    switch (error) {
    case QPdfDocument::Error::None:
        break;
    case QPdfDocument::Error::IncorrectPassword:
        refuse(info, QStringLiteral("is encrypted with a password: remove the protection (for example "
                                    "'qpdf --decrypt --password=... in.pdf out.pdf') and import it again"));
    case QPdfDocument::Error::UnsupportedSecurityScheme:
        refuse(info, QStringLiteral("is encrypted with an unsupported security scheme"));
    case QPdfDocument::Error::InvalidFileFormat:
        refuse(info, QStringLiteral("is not a valid PDF (damaged or truncated)"));
    default:
        refuse(info, QStringLiteral("cannot be opened as a PDF (error %1)").arg(int(error)));
    }
    const int pages = pdf.pageCount();
    if (pages <= 0)
        refuse(info, QStringLiteral("has no pages"));
    if (pages > kMaxPages)
        refuse(info, QStringLiteral("has %1 pages (the limit is %2)").arg(pages).arg(kMaxPages));

    ImportedDocument doc;
    doc.format = format();
    doc.sourcePath = info.absoluteFilePath();
    doc.bytes = info.size();
    doc.contentHash = QString::fromLatin1(hash.result().toHex());
    bool anyText = false;
    for (int page = 0; page < pages; ++page) {
        const QString pageText = cleanPdfPageText(pdf.getAllText(page).text());
        // Every page starts a paragraph; an empty page (a plate, a blank verso) still
        // has a start so page numbers stay those of the file.
        if (page > 0)
            doc.text += QLatin1String("\n\n");
        doc.pageStarts.push_back(doc.text.size());
        doc.text += pageText;
        anyText = anyText || !pageText.isEmpty();
    }
    if (!anyText)
        refuse(info, QStringLiteral("has no text layer (a scanned book?): text recognition is not supported"));
    doc.title = pdf.metaData(QPdfDocument::MetaDataField::Title).toString().simplified();
    if (doc.title.isEmpty())
        doc.title = info.completeBaseName();
    doc.author = pdf.metaData(QPdfDocument::MetaDataField::Author).toString().simplified();
    doc.chapters = outlineChapters(pdf, doc.text, doc.pageStarts);
    return doc;
}

}  // namespace mm::import
