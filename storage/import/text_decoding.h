// Bytes -> text for the text-like readers: binary sniffing, UTF-8 with a windows-1252
// fallback (QStringConverter has no cp1252 without ICU), line-ending normalisation.
#pragma once

#include <QByteArray>
#include <QString>

#include <optional>

namespace mm::import {

/// Why the bytes look binary ("NUL byte at offset 12"), or nothing when they look like
/// text. Only the first sniffBytes are examined.
std::optional<QString> binaryReason(const QByteArray& bytes, int sniffBytes = 64 * 1024);

struct DecodedText {
    QString text;
    QString encoding;  ///< "UTF-8" or "windows-1252"
};

/// UTF-8 (a BOM is dropped) when the bytes are valid UTF-8, else windows-1252.
DecodedText decodeText(const QByteArray& bytes);

/// windows-1252 to QString; 0x81, 0x8D, 0x8F, 0x90, 0x9D (unassigned) map to U+0081...
QString decodeWindows1252(const QByteArray& bytes);

/// CRLF and lone CR become LF.
QString normalizeLineEndings(QString text);

}  // namespace mm::import
