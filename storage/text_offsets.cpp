#include "storage/text_offsets.h"

#include <algorithm>

namespace mm::storage {

CodePointIndex::CodePointIndex(const QString& text) : m_utf16Size(text.size())
{
    const QChar* data = text.constData();
    for (qint64 i = 0; i + 1 < m_utf16Size; ++i) {
        if (data[i].isHighSurrogate() && data[i + 1].isLowSurrogate()) {
            m_surrogateStarts.push_back(i);
            ++i;
        }
    }
    m_codePoints = m_utf16Size - m_surrogateStarts.size();
}

qint64 CodePointIndex::toCodePoint(qint64 utf16Index) const
{
    const qint64 u = std::clamp<qint64>(utf16Index, 0, m_utf16Size);
    if (m_surrogateStarts.isEmpty())
        return u;
    // Every pair starting before u has already contributed one extra UTF-16 unit; an
    // index inside a pair therefore rounds down to that pair's code point.
    const auto pairsBefore = std::lower_bound(m_surrogateStarts.begin(), m_surrogateStarts.end(), u)
        - m_surrogateStarts.begin();
    return u - pairsBefore;
}

qint64 CodePointIndex::toUtf16(qint64 codePoint) const
{
    const qint64 cp = std::clamp<qint64>(codePoint, 0, m_codePoints);
    if (m_surrogateStarts.isEmpty())
        return cp;
    // Pair j sits at code point m_surrogateStarts[j] - j, which increases with j: count
    // the pairs whose code point lies before cp.
    qint64 lo = 0;
    qint64 hi = m_surrogateStarts.size();
    while (lo < hi) {
        const qint64 mid = (lo + hi) / 2;
        if (m_surrogateStarts[mid] - mid < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return cp + lo;
}

}  // namespace mm::storage
