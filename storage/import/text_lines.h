// Lines of a text as (start, end) UTF-16 ranges, for the heuristics that look at the
// shape of a text (headings standing alone, title blocks) without copying it.
#pragma once

#include <QString>
#include <QStringView>
#include <QVector>

namespace mm::import {

struct LineRange {
    qsizetype start = 0;  ///< first character of the line
    qsizetype end = 0;    ///< the '\n' ending it, or the text's end
};

inline QVector<LineRange> splitLines(const QString& text, qsizetype limit = -1)
{
    QVector<LineRange> lines;
    const qsizetype size = limit < 0 ? text.size() : std::min(limit, text.size());
    qsizetype start = 0;
    while (start < size) {
        qsizetype end = text.indexOf(QLatin1Char('\n'), start);
        if (end < 0 || end > size)
            end = size;
        lines.push_back({start, end});
        start = end + 1;
    }
    return lines;
}

inline QStringView lineText(const QString& text, const LineRange& line)
{
    return QStringView(text).mid(line.start, line.end - line.start);
}

inline bool isBlank(const QString& text, const LineRange& line)
{
    return lineText(text, line).trimmed().isEmpty();
}

}  // namespace mm::import
