#include "storage/import/metadata.h"

#include "storage/import/text_lines.h"

#include <QRegularExpression>
#include <QStringList>

namespace mm::import {
namespace {

constexpr qsizetype kFrontMatterChars = 12000;  // title pages are short
constexpr int kMaxTitleLines = 4;
constexpr int kMaxTitleChars = 200;

/// Paragraphs (runs of non-blank lines) of the first part of the text, lines trimmed.
QVector<QStringList> frontParagraphs(const QString& text)
{
    QVector<QStringList> paragraphs;
    QStringList current;
    for (const LineRange& line : splitLines(text, kFrontMatterChars)) {
        const QString t = lineText(text, line).trimmed().toString();
        if (t.isEmpty()) {
            if (!current.isEmpty())
                paragraphs.push_back(current);
            current.clear();
        } else {
            current << t;
        }
    }
    if (!current.isEmpty())
        paragraphs.push_back(current);
    return paragraphs;
}

bool isCreditOrNote(const QString& firstLine)
{
    static const QRegularExpression credit(
        QStringLiteral("^(\\[?\\s*(produced|prepared|transcribed|scanned|proofread|digiti[sz]ed|e-?text|this (e-?text|e-?book|file)|"
                       "transcriber|note|\\[?illustration|updated|html|an? (anonymous )?volunteer|project gutenberg)|introduction to the project gutenberg)"),
        QRegularExpression::CaseInsensitiveOption);
    return credit.match(firstLine).hasMatch();
}

/// "It was published in two volumes." rather than a title: many words and a full stop.
bool isSentence(const QString& text)
{
    return (text.endsWith(QLatin1Char('.')) || text.endsWith(QLatin1Char('!')) || text.endsWith(QLatin1Char('?')))
        && text.count(QLatin1Char(' ')) >= 8;
}

bool isDecoration(const QString& line)
{
    for (QChar c : line)
        if (c.isLetterOrNumber())
            return false;
    return true;
}

bool isSectionWord(const QString& line)
{
    static const QRegularExpression section(
        QStringLiteral("^(contents|table of contents|preface|introduction|prologue|foreword|dedication|chapter\\b.*)\\.?$"),
        QRegularExpression::CaseInsensitiveOption);
    return section.match(line).hasMatch();
}

QString stripTrailingPunctuation(QString s)
{
    while (!s.isEmpty() && (s.endsWith(QLatin1Char('.')) || s.endsWith(QLatin1Char(',')) || s.endsWith(QLatin1Char(';'))))
        s.chop(1);
    return s.trimmed();
}

/// "by Charles Dickens", "BY", "Edited by X" at the start of a paragraph; the author is
/// the rest of the line, or the next line when "by" stands alone.
QString authorFrom(const QVector<QStringList>& paragraphs, int from)
{
    static const QRegularExpression byLine(QStringLiteral("^(?:(?:written|edited|translated|compiled)\\s+)?by\\b[:\\s]*(.*)$"),
                                           QRegularExpression::CaseInsensitiveOption);
    for (int p = from; p < paragraphs.size() && p < from + 6; ++p) {
        const QStringList& lines = paragraphs[p];
        for (int i = 0; i < lines.size() && i < 3; ++i) {
            const QRegularExpressionMatch m = byLine.match(lines[i]);
            if (!m.hasMatch())
                continue;
            QString name = m.captured(1).trimmed();
            if (name.isEmpty()) {
                if (i + 1 < lines.size())
                    name = lines[i + 1];
                else if (p + 1 < paragraphs.size())
                    name = paragraphs[p + 1].first();
            }
            name = stripTrailingPunctuation(name);
            if (!name.isEmpty() && name.size() <= 120)
                return tidyCapitals(name);
        }
    }
    return {};
}

}  // namespace

QString tidyCapitals(const QString& text)
{
    bool hasLetters = false;
    for (QChar c : text) {
        if (c.isLower())
            return text;
        hasLetters = hasLetters || c.isLetter();
    }
    if (!hasLetters)
        return text;
    static const QStringList smallWords = {QStringLiteral("a"), QStringLiteral("an"), QStringLiteral("and"), QStringLiteral("the"),
                                           QStringLiteral("of"), QStringLiteral("in"), QStringLiteral("on"), QStringLiteral("at"),
                                           QStringLiteral("to"), QStringLiteral("for"), QStringLiteral("by"), QStringLiteral("or"),
                                           QStringLiteral("with"), QStringLiteral("from"), QStringLiteral("its")};
    static const QRegularExpression roman(QStringLiteral("^[IVXLC]{1,5}[.,:;]?$"));
    QStringList words = text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    for (int i = 0; i < words.size(); ++i) {
        QString& w = words[i];
        if (roman.match(w).hasMatch() || w.chopped(1).contains(QLatin1Char('.')))
            continue;  // "VOL. II" keeps its numeral, "D.D." its capitals
        w = w.toLower();
        if (i > 0 && smallWords.contains(w))
            continue;
        for (int k = 0; k < w.size(); ++k) {
            if (w[k].isLetter()) {
                w[k] = w[k].toUpper();
                break;
            }
        }
    }
    return words.join(QLatin1Char(' '));
}

TitleAuthor guessTextTitleAuthor(const QString& text)
{
    const QVector<QStringList> paragraphs = frontParagraphs(text);
    TitleAuthor result;
    bool inNote = false;  // after a "Transcriber's Note" heading: its body paragraphs
    for (int p = 0; p < paragraphs.size() && p < 12; ++p) {
        const QStringList& lines = paragraphs[p];
        if (isCreditOrNote(lines.first())) {
            inNote = lines.size() == 1;
            continue;
        }
        if (isDecoration(lines.join(QString())) || isSectionWord(lines.first()))
            continue;
        const QString joined = lines.join(QLatin1Char(' ')).simplified();
        const bool prose = lines.size() > kMaxTitleLines || joined.size() > kMaxTitleChars || isSentence(joined);
        if (prose && inNote)
            continue;
        if (prose)
            break;  // the book starts without a title block
        if (joined.startsWith(QLatin1String("by "), Qt::CaseInsensitive))
            continue;
        result.title = tidyCapitals(stripTrailingPunctuation(joined));
        result.author = authorFrom(paragraphs, p + 1);
        // "Title\nby Author" in a single block
        if (result.author.isEmpty() && lines.size() > 1) {
            result.title = tidyCapitals(stripTrailingPunctuation(lines.first()));
            result.author = authorFrom({lines.mid(1)}, 0);
            if (result.author.isEmpty())
                result.title = tidyCapitals(stripTrailingPunctuation(joined));
        }
        break;
    }
    return result;
}

TitleAuthor guessMarkdownTitleAuthor(const QString& text)
{
    TitleAuthor result;
    const QVector<LineRange> lines = splitLines(text, kFrontMatterChars);
    int first = 0;
    // YAML front matter between "---" lines.
    if (!lines.isEmpty() && lineText(text, lines[0]).trimmed() == QLatin1String("---")) {
        static const QRegularExpression field(QStringLiteral("^(title|author)\\s*:\\s*[\"']?(.*?)[\"']?\\s*$"),
                                              QRegularExpression::CaseInsensitiveOption);
        for (int i = 1; i < lines.size(); ++i) {
            const QString t = lineText(text, lines[i]).trimmed().toString();
            if (t == QLatin1String("---") || t == QLatin1String("...")) {
                first = i + 1;
                break;
            }
            const QRegularExpressionMatch m = field.match(t);
            if (m.hasMatch())
                (m.captured(1).toLower() == QLatin1String("title") ? result.title : result.author) = m.captured(2);
        }
    }
    if (result.title.isEmpty()) {
        static const QRegularExpression h1(QStringLiteral("^#\\s+(.+?)(?:\\s+#+)?\\s*$"));
        for (int i = first; i < lines.size() && i < first + 40; ++i) {
            const QRegularExpressionMatch m = h1.match(lineText(text, lines[i]).toString());
            if (m.hasMatch()) {
                result.title = m.captured(1).trimmed();
                break;
            }
        }
    }
    if (result.author.isEmpty()) {
        const QVector<QStringList> paragraphs = frontParagraphs(text);
        for (int p = 0; p < paragraphs.size() && p < 8; ++p) {
            QStringList stripped;
            for (const QString& l : paragraphs[p]) {
                QString s = l;
                s.remove(QRegularExpression(QStringLiteral("^[#>*_\\s]+|[*_\\s]+$")));
                stripped << s;
            }
            result.author = authorFrom({stripped}, 0);
            if (!result.author.isEmpty())
                break;
        }
    }
    return result;
}

}  // namespace mm::import
