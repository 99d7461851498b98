// How a token is shown to a reader: as the book's own text, never as a tokenizer piece.
// The model reads a character outside its vocabulary as byte pieces (<0xC3> <0xA9> for
// "é"); all but the last of them cover no character of the text (docs/tokenizer.md), and
// a piece drawn alone would be mojibake («Ã», «£»). So an empty span shows the character
// it belongs to, whitespace is made visible, and the SentencePiece space mark `▁` is a space.
#pragma once

#include <QString>

namespace mm::ui {

/// Where a token's shown text ends: utf16To, or past the whole character at utf16From
/// when the span is empty (a byte piece).
qsizetype tokenDisplayEnd(const QString& text, qsizetype utf16From, qsizetype utf16To);
/// The token whose text spans text[utf16From, utf16To), for display in one line.
QString tokenDisplayText(const QString& text, qsizetype utf16From, qsizetype utf16To);

}  // namespace mm::ui
