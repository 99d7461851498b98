#include "storage/import/html_text.h"
#include "storage/import/text_reader.h"

#include <QFileInfo>
#include <QRegularExpression>

namespace mm::import {
namespace {

/// h1 headings as chapters; h2 too when there are few h1 (a book whose only h1 is its
/// title); h3 when there is nothing above.
QVector<ImportedChapter> chaptersFromHeadings(const QVector<HtmlHeading>& headings)
{
    int count[7] = {0, 0, 0, 0, 0, 0, 0};
    for (const HtmlHeading& h : headings)
        ++count[h.level];
    int deepest = 1;
    if (count[1] <= 1)
        deepest = 2;
    if (count[1] + count[2] == 0)
        deepest = 3;
    QVector<ImportedChapter> chapters;
    for (const HtmlHeading& h : headings) {
        if (h.level > deepest)
            continue;
        // A lone h1 that is the book's title is not a chapter when h2s follow.
        if (h.level == 1 && count[1] == 1 && count[2] > 0)
            continue;
        chapters.push_back({h.title, h.utf16Offset});
    }
    return chapters;
}

/// Project Gutenberg's HTML titles read "The Project Gutenberg eBook of TITLE, by AUTHOR".
void tidyGutenbergTitle(QString& title, QString& author)
{
    static const QRegularExpression gutenberg(
        QStringLiteral("^The Project Gutenberg e-?Book of (.+?)(?:, by (.+))?$"), QRegularExpression::CaseInsensitiveOption);
    const QRegularExpressionMatch m = gutenberg.match(title);
    if (!m.hasMatch())
        return;
    title = m.captured(1).trimmed();
    if (author.isEmpty())
        author = m.captured(2).trimmed();
}

}  // namespace

void HtmlReader::convert(ImportedDocument& doc) const
{
    const HtmlText html = htmlToText(doc.text.toUtf8());
    if (html.tooDeep)
        throw ImportError(QStringLiteral("'%1' nests its markup more than %2 levels deep: refusing a possibly hostile file")
                              .arg(QFileInfo(doc.sourcePath).fileName()).arg(kMaxMarkupDepth).toStdString());
    doc.text = html.text;
    doc.title = html.title;
    if (doc.title.isEmpty() && !html.headings.isEmpty())
        doc.title = html.headings.first().title;
    doc.author = html.author;
    tidyGutenbergTitle(doc.title, doc.author);
    doc.chapters = chaptersFromHeadings(html.headings);
}

TitleAuthor HtmlReader::guessTitleAuthor(const QString& text) const
{
    const HtmlText html = htmlToText(text.toUtf8());
    return {html.title, html.author};
}

QVector<ImportedChapter> HtmlReader::detectChapters(const QString& text) const
{
    return chaptersFromHeadings(htmlToText(text.toUtf8()).headings);
}

}  // namespace mm::import
