// Converts between QString (UTF-16) indices and Unicode code point offsets, the unit
// every stored offset uses. For text without surrogate pairs (nearly every book) both
// are the same and the conversions are O(1).
#pragma once

#include <QString>
#include <QVector>

namespace mm::storage {

class CodePointIndex {
public:
    explicit CodePointIndex(const QString& text);
    qint64 toCodePoint(qint64 utf16Index) const;  ///< clamps to [0, size]
    qint64 toUtf16(qint64 codePoint) const;       ///< clamps to [0, size]
    qint64 codePointCount() const { return m_codePoints; }

private:
    QVector<qint64> m_surrogateStarts;  ///< UTF-16 index of each high surrogate, sorted
    qint64 m_utf16Size = 0;
    qint64 m_codePoints = 0;
};

}  // namespace mm::storage
