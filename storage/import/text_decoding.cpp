#include "storage/import/text_decoding.h"

#include <QStringDecoder>

namespace mm::import {

std::optional<QString> binaryReason(const QByteArray& bytes, int sniffBytes)
{
    const qsizetype n = std::min<qsizetype>(bytes.size(), sniffBytes);
    qsizetype controls = 0;
    for (qsizetype i = 0; i < n; ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        if (b == 0)
            return QStringLiteral("NUL byte at offset %1").arg(i);
        // Tab, LF, FF, CR and ESC appear in real text files; other C0 controls do not.
        if ((b < 0x20 && b != '\t' && b != '\n' && b != '\f' && b != '\r' && b != 0x1b) || b == 0x7f)
            ++controls;
    }
    // More than 1 in 20 control bytes: no text file looks like that.
    if (n > 0 && controls * 20 > n)
        return QStringLiteral("%1 control characters in the first %2 bytes").arg(controls).arg(n);
    return std::nullopt;
}

QString decodeWindows1252(const QByteArray& bytes)
{
    // 0x80..0x9F, where windows-1252 differs from Latin-1; 0 marks the five unassigned
    // bytes, which pass through as the C1 control of the same value (as browsers do).
    static constexpr char16_t kHigh[32] = {
        0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
        0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
    };
    QString out(bytes.size(), Qt::Uninitialized);
    QChar* dst = out.data();
    for (qsizetype i = 0; i < bytes.size(); ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        char16_t c = b;
        if (b >= 0x80 && b < 0xA0 && kHigh[b - 0x80] != 0)
            c = kHigh[b - 0x80];
        dst[i] = QChar(c);
    }
    return out;
}

void Utf8Scanner::invalid(qint64 offset)
{
    ++m_invalidBytes;
    if (m_firstInvalid < 0)
        m_firstInvalid = offset;
}

void Utf8Scanner::feed(const char* data, qsizetype size)
{
    QByteArray joined;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data);
    qsizetype n = size;
    if (!m_carry.isEmpty()) {
        joined = m_carry + QByteArray::fromRawData(data, size);
        p = reinterpret_cast<const unsigned char*>(joined.constData());
        n = joined.size();
    }
    const qint64 base = m_offset;
    m_carry.clear();
    qsizetype i = 0;
    while (i < n) {
        const unsigned char b = p[i];
        if (b < 0x80) {
            ++i;
            continue;
        }
        int length = 0;
        unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte (RFC 3629)
        if (b >= 0xC2 && b <= 0xDF) length = 2;
        else if (b == 0xE0) { length = 3; lo = 0xA0; }
        else if (b >= 0xE1 && b <= 0xEC) length = 3;
        else if (b == 0xED) { length = 3; hi = 0x9F; }  // no surrogates
        else if (b >= 0xEE && b <= 0xEF) length = 3;
        else if (b == 0xF0) { length = 4; lo = 0x90; }
        else if (b >= 0xF1 && b <= 0xF3) length = 4;
        else if (b == 0xF4) { length = 4; hi = 0x8F; }
        if (length == 0) {
            invalid(base + i);
            ++i;
            continue;
        }
        int good = 1;
        while (good < length && i + good < n) {
            const unsigned char c = p[i + good];
            const bool ok = good == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
            if (!ok)
                break;
            ++good;
        }
        if (good == length) {
            ++m_multiByte;
            i += length;
        } else if (i + good == n) {
            // Cut by the end of this piece: finish it with the next one.
            m_carry = QByteArray(reinterpret_cast<const char*>(p + i), n - i);
            m_offset = base + i;
            return;
        } else {
            invalid(base + i);
            i += good;
        }
    }
    m_offset = base + n;
}

void Utf8Scanner::finish()
{
    if (!m_carry.isEmpty())
        invalid(m_offset);
    m_carry.clear();
}

QString invalidUtf8Warning(qint64 invalidBytes, qint64 firstOffset)
{
    return QStringLiteral("is mostly UTF-8 but has %1 invalid byte%2 (the first at offset %3); "
                          "each was replaced by U+FFFD")
        .arg(invalidBytes).arg(invalidBytes == 1 ? QString() : QStringLiteral("s")).arg(firstOffset);
}

DecodedText decodeText(const QByteArray& bytes)
{
    QByteArrayView view(bytes);
    if (view.startsWith("\xEF\xBB\xBF"))
        view = view.sliced(3);
    Utf8Scanner scan;
    scan.feed(view.data(), view.size());
    scan.finish();
    if (scan.valid() || scan.mostlyUtf8()) {
        // Qt's decoder replaces each invalid sequence with U+FFFD.
        QStringDecoder utf8(QStringConverter::Utf8, QStringConverter::Flag::Stateless);
        DecodedText decoded{utf8.decode(view), QStringLiteral("UTF-8"), {}};
        if (!scan.valid())
            decoded.warning = invalidUtf8Warning(scan.invalidBytes(), scan.firstInvalidOffset() + (bytes.size() - view.size()));
        return decoded;
    }
    return {decodeWindows1252(bytes), QStringLiteral("windows-1252"), {}};
}

QString normalizeLineEndings(QString text)
{
    if (!text.contains(QLatin1Char('\r')))
        return text;
    text.replace(QLatin1String("\r\n"), QLatin1String("\n"));
    text.replace(QLatin1Char('\r'), QLatin1Char('\n'));
    return text;
}

}  // namespace mm::import
