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

DecodedText decodeText(const QByteArray& bytes)
{
    QByteArrayView view(bytes);
    if (view.startsWith("\xEF\xBB\xBF"))
        view = view.sliced(3);
    QStringDecoder utf8(QStringConverter::Utf8, QStringConverter::Flag::Stateless);
    QString text = utf8.decode(view);
    if (!utf8.hasError())
        return {text, QStringLiteral("UTF-8")};
    return {decodeWindows1252(bytes), QStringLiteral("windows-1252")};
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
