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

/// What a UTF-8 check of some bytes found; fed piece by piece (a sequence may be split
/// between pieces), so a 500 MB file is checked in bounded memory.
class Utf8Scanner {
public:
    void feed(const char* data, qsizetype size);
    void finish();  ///< an incomplete sequence at the very end counts as invalid
    bool valid() const { return m_invalidBytes == 0; }
    qint64 invalidBytes() const { return m_invalidBytes; }
    qint64 firstInvalidOffset() const { return m_firstInvalid; }
    qint64 multiByteSequences() const { return m_multiByte; }
    /// Text that is mostly UTF-8 with a few bad bytes (more valid multi-byte sequences
    /// than invalid bytes): decoded as UTF-8 with U+FFFD for the bad bytes; anything
    /// else that is not UTF-8 is windows-1252.
    bool mostlyUtf8() const { return m_multiByte > m_invalidBytes; }

private:
    void invalid(qint64 offset);
    QByteArray m_carry;  ///< the unfinished sequence at the end of the last piece
    qint64 m_offset = 0; ///< file offset of m_carry's first byte (or of the next piece)
    qint64 m_invalidBytes = 0;
    qint64 m_firstInvalid = -1;
    qint64 m_multiByte = 0;
};

struct DecodedText {
    QString text;
    QString encoding;  ///< "UTF-8" or "windows-1252"
    /// Empty, or what the user should know ("... 3 bytes that are not UTF-8 ...").
    QString warning;
};

/// UTF-8 (a BOM is dropped) when the bytes are valid UTF-8; mostly-UTF-8 bytes are
/// UTF-8 with U+FFFD for the invalid bytes (and a warning); else windows-1252.
DecodedText decodeText(const QByteArray& bytes);

/// The warning for mostly-UTF-8 text with invalid bytes.
QString invalidUtf8Warning(qint64 invalidBytes, qint64 firstOffset);

/// windows-1252 to QString; 0x81, 0x8D, 0x8F, 0x90, 0x9D (unassigned) map to U+0081...
QString decodeWindows1252(const QByteArray& bytes);

/// CRLF and lone CR become LF.
QString normalizeLineEndings(QString text);

}  // namespace mm::import
