// The reading view: a read-only QPlainTextEdit (it lays out lazily, so a 3 MB book
// opens at once) in a serif font on a calm page, with the text column kept to a
// comfortable measure. It speaks storage's unit, Unicode code points: the reading
// position is the code point of the first visible character.
#pragma once

#include "storage/text_offsets.h"
#include "ui/char_range.h"

#include <QPlainTextEdit>
#include <QStringList>

#include <optional>

namespace mm::ui {

class ReadingView : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit ReadingView(QWidget* parent = nullptr);

    /// Shows the text with its first visible character at `position`.
    void showText(const QString& text, qint64 position);
    void clearText();
    bool hasText() const { return !m_source.isEmpty(); }

    /// Code point of the first visible character (the reading position).
    qint64 position() const;
    /// Code point of the text cursor.
    qint64 cursorPosition() const;
    /// The selected text, [start, end) in code points; empty ({0, 0}) when none.
    CharRange selection() const;
    qint64 codePointCount() const { return m_index.codePointCount(); }
    /// 0..1: how far through the text the reading position is.
    double fractionRead() const;

    /// Scrolls so the line holding `position` is `fromTop` (0..1) down the view.
    void scrollToPosition(qint64 position, double fromTop = 0.0);
    /// Highlights the passage [start, end) and, inside it, each of `terms` (words or
    /// phrases); puts the cursor on the first match of the first term that matches
    /// (else the passage start) and scrolls it into view.
    void highlightPassage(qint64 start, qint64 end, const QStringList& terms);
    void clearHighlights();
    /// Puts the cursor at `position` and scrolls it a quarter down the view (a jump from
    /// the memory map); clears the search highlights.
    void jumpTo(qint64 position);

    /// Marks the model's notes in the text (under the search highlights): `pooled`
    /// (tokens now in a pool) with a teal underline on a pale tint, `evicted` (notes
    /// pushed out since) with a wavy crimson underline. Kept across reflow; cleared by a
    /// new text. At most kMaxMemoryMarks of each.
    void setMemoryMarks(const CharRanges& pooled, const CharRanges& evicted);
    void clearMemoryMarks() { setMemoryMarks({}, {}); }
    const CharRanges& pooledMarks() const { return m_pooledMarks; }
    const CharRanges& evictedMarks() const { return m_evictedMarks; }
    static constexpr int kMaxMemoryMarks = 4000;

    /// Joins hard-wrapped lines for display (offsets are unchanged); on by default.
    void setReflow(bool on);
    bool reflow() const { return m_reflow; }

    /// Readable column width in characters of the body font.
    static constexpr int kMeasureChars = 72;

signals:
    /// The first visible character changed (scrolling, resizing, a new text).
    void positionChanged(qint64 position);

protected:
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    int toUtf16(qint64 codePoint) const;
    void applyPendingScroll();
    void updateColumnMargins();
    void emitPositionIfChanged();
    void applySelections();

    QList<QTextEdit::ExtraSelection> m_searchSelections;
    CharRanges m_pooledMarks;
    CharRanges m_evictedMarks;

    QString m_source;
    storage::CodePointIndex m_index{QString()};
    bool m_reflow = true;
    std::optional<qint64> m_pendingPosition;  ///< applied once the view has a size
    /// The place the reader is at, kept across rewrapping: set by scrollToPosition and
    /// by the reader's own scrolling, never by a relayout, so resizes do not drift.
    qint64 m_anchor = 0;
    double m_anchorFromTop = 0.0;
    bool m_scrollingProgrammatically = false;
    double m_pendingFromTop = 0.0;
    qint64 m_lastEmittedPosition = -1;
};

}  // namespace mm::ui
