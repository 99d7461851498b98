#include "ui/token_text.h"

#include <algorithm>

namespace mm::ui {

qsizetype tokenDisplayEnd(const QString& text, qsizetype utf16From, qsizetype utf16To)
{
    const qsizetype from = std::clamp<qsizetype>(utf16From, 0, text.size());
    const qsizetype to = std::clamp<qsizetype>(utf16To, from, text.size());
    if (to > from || from == text.size())
        return to;
    // A byte piece before the last of its character: that character whole.
    return from + (text.at(from).isHighSurrogate() && from + 1 < text.size() ? 2 : 1);
}

QString tokenDisplayText(const QString& text, qsizetype utf16From, qsizetype utf16To)
{
    const qsizetype from = std::clamp<qsizetype>(utf16From, 0, text.size());
    const qsizetype to = tokenDisplayEnd(text, from, utf16To);
    QString shown = text.mid(from, to - from);
    shown.replace(QChar(0x2581), QLatin1Char(' '));
    shown.replace(QLatin1Char('\n'), QChar(0x21B5));  // ↵: a line break, kept on one line
    shown.replace(QLatin1Char('\t'), QChar(0x2192));  // →
    shown.replace(QLatin1Char('\r'), QString());
    return shown;
}

}  // namespace mm::ui
