// A range of the document's text in code points, [start, end): what panels hand the
// reading view to mark.
#pragma once

#include <QMetaType>
#include <QVector>

namespace mm::ui {

struct CharRange {
    qint64 start = 0;
    qint64 end = 0;
    friend bool operator==(const CharRange& a, const CharRange& b) { return a.start == b.start && a.end == b.end; }
};
using CharRanges = QVector<CharRange>;

}  // namespace mm::ui

Q_DECLARE_METATYPE(mm::ui::CharRange)
