// Display-only reflow of hard-wrapped text (Project Gutenberg books break lines at
// about 70 characters). A line break inside a paragraph becomes a space, one UTF-16
// unit for one, so every offset into the reflowed text is the same as into the stored
// text and no position mapping is needed.
#pragma once

#include <QString>

namespace mm::ui {

/// Joins a line to the next when the line is long enough to have been wrapped (at
/// least minWrappedLength characters), is not indented, and the next line is neither
/// blank nor indented. Short lines (verse, lists, headings) and indented blocks keep
/// their breaks.
QString reflowForDisplay(const QString& text, int minWrappedLength = 45);

}  // namespace mm::ui
