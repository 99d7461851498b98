// Chapter detection for plain text and Markdown (declared in importer.h).
#include "storage/import/importer.h"

#include "storage/import/text_lines.h"

#include <QHash>
#include <QRegularExpression>

#include <optional>

namespace mm::import {
namespace {

constexpr int kMaxHeadingLineChars = 100;
constexpr int kMaxHeadingBlockLines = 3;     // a heading wrapped over up to 3 lines
constexpr int kMaxHeadingBlockChars = 250;
constexpr int kMaxSubtitleChars = 70;
constexpr int kMaxTitleChars = 120;
// A heading whose label repeats later and whose section is shorter than this is a
// table-of-contents entry, not a chapter.
constexpr qsizetype kMinRepeatedSectionChars = 1000;
constexpr qsizetype kMaxContentsEntryGap = 400;

const QString kNumberWords = QStringLiteral(
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred");
const QString kOrdinalWords = QStringLiteral(
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|"
    "fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|last|final");

/// "CHAPTER IV", "Chapter 3.", "BOOK II.--OF MAN", "PART ONE", "Chapter the First".
const QRegularExpression& numberedHeading()
{
    static const QString number = QStringLiteral("(?:\\d+|[ivxlcdm]+|(?:%1)(?:[- ](?:%1))?|(?:the\\s+)?(?:%2))")
                                      .arg(kNumberWords, kOrdinalWords);
    static const QRegularExpression re(
        QStringLiteral("^(chapter|book|part|volume|stave|canto|section|letter|appendix|act|scene|epilogue)\\s+"
                       "(%1(?:\\.%1)*)(?:\\s*([.:\\x{2014}\\x{2013}-]+)\\s*(.*?)|\\s+(.*?))?\\s*$")
            .arg(number),
        QRegularExpression::CaseInsensitiveOption | QRegularExpression::UseUnicodePropertiesOption);
    return re;
}

/// Unnumbered front and back matter standing alone: "PREFACE", "Introduction.".
const QRegularExpression& namedHeading()
{
    static const QRegularExpression re(
        QStringLiteral("^(preface|introduction|prologue|epilogue|conclusion|foreword|afterword|appendix)\\.?$"),
        QRegularExpression::CaseInsensitiveOption);
    return re;
}

bool hasLowerCase(QStringView s)
{
    for (QChar c : s)
        if (c.isLower())
            return true;
    return false;
}

/// Keywords count in "CHAPTER" or "Chapter" form; "chapter" in lower case is prose.
bool keywordCased(const QString& keyword)
{
    return !keyword.isEmpty() && keyword[0].isUpper();
}

struct HeadingMatch {
    QString key;    ///< "CHAPTER IV": the label, to recognise repeats (contents lists)
    bool hasRest = false;
};

std::optional<HeadingMatch> matchHeading(const QString& line)
{
    if (line.size() > kMaxHeadingLineChars)
        return std::nullopt;
    QRegularExpressionMatch m = numberedHeading().match(line);
    if (m.hasMatch() && keywordCased(m.captured(1))) {
        // "CHAPTER IV THE STORM" without punctuation only when the rest is in capitals;
        // "Part I am glad" is prose.
        if (!m.captured(5).isEmpty() && hasLowerCase(m.captured(5)))
            return std::nullopt;
        return HeadingMatch{m.captured(1).toUpper() + QLatin1Char(' ') + m.captured(2).toUpper(),
                            !m.captured(4).isEmpty() || !m.captured(5).isEmpty()};
    }
    m = namedHeading().match(line);
    if (m.hasMatch() && keywordCased(m.captured(1)))
        return HeadingMatch{m.captured(1).toUpper(), false};
    return std::nullopt;
}

QString chopTrailing(QString s, const QString& chars)
{
    while (!s.isEmpty() && chars.contains(s.back()))
        s.chop(1);
    return s;
}

struct Candidate {
    ImportedChapter chapter;
    QString key;
};

}  // namespace

QVector<ImportedChapter> detectTextChapters(const QString& text)
{
    const QVector<LineRange> lines = splitLines(text);
    QVector<Candidate> candidates;

    for (int i = 0; i < lines.size(); ++i) {
        if (i > 0 && !isBlank(text, lines[i - 1]))
            continue;  // a heading stands after a blank line (or opens the text)
        const QString line = lineText(text, lines[i]).trimmed().toString();
        if (line.isEmpty())
            continue;
        const std::optional<HeadingMatch> heading = matchHeading(line);
        if (!heading)
            continue;

        // The heading block: the line and any wrapped continuation up to a blank line.
        QStringList block{line};
        int next = i + 1;
        while (next < lines.size() && !isBlank(text, lines[next])) {
            block << lineText(text, lines[next]).trimmed().toString();
            ++next;
        }
        if (block.size() > kMaxHeadingBlockLines || block.join(QLatin1Char(' ')).size() > kMaxHeadingBlockChars)
            continue;  // a prose paragraph or a contents list, not a heading
        if (block.size() > 1 && matchHeading(block[1]))
            continue;  // consecutive headings: a contents list

        QString title = block.join(QLatin1Char(' ')).simplified();
        if (block.size() == 1 && !heading->hasRest) {
            // "CHAPTER IV." then, alone after a blank line, a short subtitle line.
            int s = next;
            int blanks = 0;
            while (s < lines.size() && isBlank(text, lines[s]) && blanks < 3) {
                ++s;
                ++blanks;
            }
            const bool alone = s + 1 >= lines.size() || isBlank(text, lines[s + 1]);
            if (s < lines.size() && blanks > 0 && blanks < 3 && alone) {
                const QString subtitle = lineText(text, lines[s]).trimmed().toString();
                const bool quoted = !subtitle.isEmpty() && QStringLiteral("\"'\u2018\u201C([").contains(subtitle[0]);
                if (!subtitle.isEmpty() && subtitle.size() <= kMaxSubtitleChars && !quoted && !matchHeading(subtitle))
                    title = chopTrailing(title, QStringLiteral(".:")) + QStringLiteral(". ") + chopTrailing(subtitle, QStringLiteral("."));
            }
        }
        title = chopTrailing(title, QStringLiteral(".:"));
        if (title.size() > kMaxTitleChars)
            title = title.left(kMaxTitleChars - 1).trimmed() + QChar(0x2026);
        candidates.push_back({{title, lines[i].start}, heading->key});
    }

    // Drop contents-list entries: a label that appears again later, with little text
    // between it and the next heading.
    QHash<QString, int> lastIndexOfKey;
    for (int i = 0; i < candidates.size(); ++i)
        lastIndexOfKey[candidates[i].key] = i;
    // The last entry of such a list is followed by front matter, not by the next entry:
    // it goes too when it sits right after a dropped entry.
    // An entry inside such a list whose label the text spells differently goes when the
    // entries on both sides of it are contents entries.
    QVector<bool> repeatsLater(candidates.size());
    QVector<bool> contentsEntry(candidates.size());
    for (int i = 0; i < candidates.size(); ++i) {
        const qsizetype sectionEnd = i + 1 < candidates.size() ? candidates[i + 1].chapter.utf16Offset : text.size();
        repeatsLater[i] = lastIndexOfKey.value(candidates[i].key) > i;
        contentsEntry[i] = repeatsLater[i] && sectionEnd - candidates[i].chapter.utf16Offset < kMinRepeatedSectionChars;
    }
    QVector<ImportedChapter> chapters;
    qsizetype lastDropped = -1;
    for (int i = 0; i < candidates.size(); ++i) {
        const qsizetype start = candidates[i].chapter.utf16Offset;
        const bool afterEntry = lastDropped >= 0 && start - lastDropped < kMaxContentsEntryGap;
        const bool beforeEntry = i + 1 < candidates.size() && contentsEntry[i + 1];
        if (contentsEntry[i] || (afterEntry && (repeatsLater[i] || beforeEntry))) {
            lastDropped = start;
            continue;
        }
        chapters.push_back(candidates[i].chapter);
    }
    return chapters;
}

QVector<ImportedChapter> detectMarkdownChapters(const QString& text)
{
    static const QRegularExpression atx(QStringLiteral("^ {0,3}(#{1,2})[ \\t]+(.+?)(?:[ \\t]+#+)?[ \\t]*$"));
    static const QRegularExpression fence(QStringLiteral("^ {0,3}(```|~~~)"));
    QVector<ImportedChapter> chapters;
    QString openFence;
    bool inFrontMatter = false;
    const QVector<LineRange> lines = splitLines(text);
    for (int i = 0; i < lines.size(); ++i) {
        const QString line = lineText(text, lines[i]).toString();
        if (i == 0 && line.trimmed() == QLatin1String("---")) {
            inFrontMatter = true;
            continue;
        }
        if (inFrontMatter) {
            inFrontMatter = !(line.trimmed() == QLatin1String("---") || line.trimmed() == QLatin1String("..."));
            continue;
        }
        const QRegularExpressionMatch f = fence.match(line);
        if (f.hasMatch()) {
            if (openFence.isEmpty())
                openFence = f.captured(1);
            else if (openFence == f.captured(1))
                openFence.clear();
            continue;
        }
        if (!openFence.isEmpty())
            continue;  // "# comment" in a code block is not a heading
        const QRegularExpressionMatch m = atx.match(line);
        if (m.hasMatch())
            chapters.push_back({m.captured(2).trimmed(), lines[i].start});
    }
    return chapters;
}

}  // namespace mm::import
