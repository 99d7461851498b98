#include "ui/text_reflow.h"

namespace mm::ui {

QString reflowForDisplay(const QString& text, int minWrappedLength)
{
    QString out = text;
    const qsizetype size = out.size();
    qsizetype lineStart = 0;
    for (qsizetype i = 0; i < size; ++i) {
        if (out.at(i) != QLatin1Char('\n'))
            continue;
        const qsizetype lineLength = i - lineStart;
        const bool lineIndented = lineLength > 0 && out.at(lineStart).isSpace();
        const bool hasNext = i + 1 < size;
        const bool nextBlankOrIndented = !hasNext || out.at(i + 1).isSpace();
        if (lineLength >= minWrappedLength && !lineIndented && !nextBlankOrIndented)
            out[i] = QLatin1Char(' ');
        lineStart = i + 1;
    }
    return out;
}

}  // namespace mm::ui
