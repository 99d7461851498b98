#include "ui/reading_view.h"

#include "ui/text_reflow.h"

#include <QRegularExpression>
#include <QScrollBar>
#include <QTextBlock>
#include <QTextLayout>

namespace mm::ui {

namespace {
constexpr int kTopMargin = 14;  // air above the first line, like a page's head margin
const QColor kPaper(0xfb, 0xf8, 0xf1);
const QColor kInk(0x2d, 0x2a, 0x26);
const QColor kPassageHighlight(0xf6, 0xea, 0xc2);
const QColor kTermHighlight(0xf2, 0xc4, 0x4d);
const QColor kPooledTint(0xdc, 0xee, 0xeb);
const QColor kPooledLine(0x1f, 0x6f, 0x78);
const QColor kEvictedLine(0xb8, 0x32, 0x3a);

QFont bodyFont()
{
    QFont font;
    // The first installed of these wins; all are book faces made for long reading.
    font.setFamilies({QStringLiteral("Literata"), QStringLiteral("Charis SIL"),
                      QStringLiteral("Georgia"), QStringLiteral("Libertinus Serif"),
                      QStringLiteral("Noto Serif"), QStringLiteral("DejaVu Serif")});
    font.setStyleHint(QFont::Serif, QFont::PreferQuality);
    font.setPointSizeF(13.0);
    return font;
}
}  // namespace

ReadingView::ReadingView(QWidget* parent) : QPlainTextEdit(parent)
{
    setObjectName(QStringLiteral("readingView"));
    setReadOnly(true);
    setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    setUndoRedoEnabled(false);
    setLineWrapMode(QPlainTextEdit::WidgetWidth);
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setFrameShape(QFrame::NoFrame);
    setFont(bodyFont());
    document()->setDocumentMargin(28);

    // The side margins around the text column are the scroll area's own background,
    // so it gets the same paper colour as the page.
    QPalette pal = palette();
    pal.setColor(QPalette::Base, kPaper);
    pal.setColor(QPalette::Window, kPaper);
    pal.setColor(QPalette::Text, kInk);
    setPalette(pal);
    setAutoFillBackground(true);

    connect(verticalScrollBar(), &QScrollBar::valueChanged, this, [this] {
        if (!m_scrollingProgrammatically && hasText() && !m_pendingPosition) {
            m_anchor = position();
            m_anchorFromTop = 0.0;
        }
        emitPositionIfChanged();
    });
}

int ReadingView::toUtf16(qint64 codePoint) const
{
    return int(m_index.toUtf16(codePoint));
}

void ReadingView::showText(const QString& text, qint64 position)
{
    m_source = text;
    m_index = storage::CodePointIndex(text);
    m_lastEmittedPosition = -1;
    m_searchSelections.clear();
    m_pooledMarks.clear();
    m_evictedMarks.clear();
    setExtraSelections({});
    setPlainText(m_reflow ? reflowForDisplay(text) : text);
    scrollToPosition(position, 0.0);
}

void ReadingView::clearText()
{
    m_source.clear();
    m_index = storage::CodePointIndex(QString());
    m_pendingPosition.reset();
    m_searchSelections.clear();
    m_pooledMarks.clear();
    m_evictedMarks.clear();
    setExtraSelections({});
    clear();
}

void ReadingView::setReflow(bool on)
{
    if (on == m_reflow)
        return;
    m_reflow = on;
    if (!hasText())
        return;
    const qint64 keep = m_anchor;
    const double keepFromTop = m_anchorFromTop;
    m_scrollingProgrammatically = true;
    setPlainText(m_reflow ? reflowForDisplay(m_source) : m_source);
    m_scrollingProgrammatically = false;
    m_searchSelections.clear();  // their cursors belonged to the replaced text
    applySelections();           // the memory marks are ranges: rebuilt on the new text
    scrollToPosition(keep, keepFromTop);
}

qint64 ReadingView::position() const
{
    if (!hasText())
        return 0;
    // QPlainTextEdit scrolls by visual lines: the scroll bar value is the line number
    // of the top line, counted over the blocks.
    const int topLine = verticalScrollBar()->value();
    const QTextBlock block = document()->findBlockByLineNumber(topLine);
    if (!block.isValid())
        return 0;
    int utf16 = block.position();
    const int lineInBlock = topLine - block.firstLineNumber();
    const QTextLayout* layout = block.layout();
    if (layout && lineInBlock > 0 && lineInBlock < layout->lineCount())
        utf16 += layout->lineAt(lineInBlock).textStart();
    return m_index.toCodePoint(utf16);
}

qint64 ReadingView::cursorPosition() const
{
    return m_index.toCodePoint(textCursor().position());
}

CharRange ReadingView::selection() const
{
    const QTextCursor cursor = textCursor();
    if (!cursor.hasSelection())
        return {};
    return {m_index.toCodePoint(cursor.selectionStart()), m_index.toCodePoint(cursor.selectionEnd())};
}

double ReadingView::fractionRead() const
{
    const qint64 total = codePointCount();
    if (total <= 0)
        return 0.0;
    // At the very bottom the whole text has been seen, wherever the top line is.
    const QScrollBar* bar = verticalScrollBar();
    if (bar->maximum() > 0 && bar->value() >= bar->maximum())
        return 1.0;
    return double(position()) / double(total);
}

void ReadingView::scrollToPosition(qint64 position, double fromTop)
{
    if (!hasText())
        return;
    if (!isVisible() || viewport()->height() <= 0) {
        m_pendingPosition = position;  // line numbers depend on the final width
        m_pendingFromTop = fromTop;
        return;
    }
    m_pendingPosition.reset();
    m_anchor = position;
    m_anchorFromTop = fromTop;
    const int utf16 = toUtf16(position);
    const QTextBlock block = document()->findBlock(utf16);
    if (!block.isValid())
        return;
    // blockBoundingRect lays the block out, so its lines (and their count) are known.
    document()->documentLayout()->blockBoundingRect(block);
    int line = block.firstLineNumber();
    if (const QTextLayout* layout = block.layout(); layout && layout->lineCount() > 0)
        line += layout->lineForTextPosition(utf16 - block.position()).lineNumber();
    const int visibleLines = qMax(1, viewport()->height() / fontMetrics().lineSpacing());
    const int target = qMax(0, line - int(visibleLines * qBound(0.0, fromTop, 1.0)));
    m_scrollingProgrammatically = true;
    verticalScrollBar()->setValue(target);
    m_scrollingProgrammatically = false;
    emitPositionIfChanged();
}

void ReadingView::highlightPassage(qint64 start, qint64 end, const QStringList& terms)
{
    if (!hasText())
        return;
    const int from = toUtf16(start);
    const int to = toUtf16(end < 0 ? codePointCount() : end);
    QList<QTextEdit::ExtraSelection> selections;

    QTextEdit::ExtraSelection passage;
    passage.cursor = QTextCursor(document());
    passage.cursor.setPosition(from);
    passage.cursor.setPosition(to, QTextCursor::KeepAnchor);
    passage.format.setBackground(kPassageHighlight);
    selections << passage;

    const QString passageText = m_source.mid(from, to - from);
    int focusOffset = -1;  // first match of the earliest term in `terms` that matches
    for (const QString& term : terms) {
        const QStringList words = term.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts);
        if (words.isEmpty())
            continue;
        QStringList escaped;
        for (const QString& word : words)
            escaped << QRegularExpression::escape(word);
        // Words of a phrase may be split by a line break in the text.
        const QRegularExpression pattern(QStringLiteral("\\b%1\\b").arg(escaped.join(QStringLiteral("\\s+"))),
                                         QRegularExpression::CaseInsensitiveOption);
        auto it = pattern.globalMatch(passageText);
        while (it.hasNext()) {
            const auto match = it.next();
            QTextEdit::ExtraSelection hit;
            hit.cursor = QTextCursor(document());
            hit.cursor.setPosition(from + int(match.capturedStart()));
            hit.cursor.setPosition(from + int(match.capturedEnd()), QTextCursor::KeepAnchor);
            hit.format.setBackground(kTermHighlight);
            selections << hit;
            if (focusOffset < 0)
                focusOffset = int(match.capturedStart());
        }
    }
    m_searchSelections = selections;
    applySelections();

    const int focus = from + qMax(0, focusOffset);
    QTextCursor cursor(document());
    cursor.setPosition(focus);
    setTextCursor(cursor);
    // A quarter down the view: the reader sees what leads up to the hit.
    scrollToPosition(m_index.toCodePoint(focus), 0.25);
}

void ReadingView::clearHighlights()
{
    m_searchSelections.clear();
    applySelections();
}

void ReadingView::jumpTo(qint64 position)
{
    if (!hasText())
        return;
    clearHighlights();
    QTextCursor cursor(document());
    cursor.setPosition(toUtf16(position));
    setTextCursor(cursor);
    scrollToPosition(position, 0.25);
}

void ReadingView::setMemoryMarks(const CharRanges& pooled, const CharRanges& evicted)
{
    m_pooledMarks = pooled.mid(0, kMaxMemoryMarks);
    m_evictedMarks = evicted.mid(0, kMaxMemoryMarks);
    applySelections();
}

void ReadingView::applySelections()
{
    QList<QTextEdit::ExtraSelection> selections;
    if (hasText()) {
        QTextCharFormat evictedFormat;
        evictedFormat.setUnderlineStyle(QTextCharFormat::WaveUnderline);
        evictedFormat.setUnderlineColor(kEvictedLine);
        QTextCharFormat pooledFormat;
        pooledFormat.setBackground(kPooledTint);
        pooledFormat.setUnderlineStyle(QTextCharFormat::SingleUnderline);
        pooledFormat.setUnderlineColor(kPooledLine);
        auto add = [&](const CharRanges& ranges, const QTextCharFormat& format) {
            for (const CharRange& range : ranges) {
                if (range.end <= range.start)
                    continue;
                QTextEdit::ExtraSelection mark;
                mark.cursor = QTextCursor(document());
                mark.cursor.setPosition(toUtf16(range.start));
                mark.cursor.setPosition(toUtf16(range.end), QTextCursor::KeepAnchor);
                mark.format = format;
                selections << mark;
            }
        };
        add(m_evictedMarks, evictedFormat);
        add(m_pooledMarks, pooledFormat);
    }
    // Search highlights last: they are drawn over the marks.
    selections << m_searchSelections;
    setExtraSelections(selections);
}

void ReadingView::updateColumnMargins()
{
    const int measure = fontMetrics().averageCharWidth() * kMeasureChars
                        + 2 * int(document()->documentMargin());
    const int scrollBarWidth = verticalScrollBar()->isVisible() ? verticalScrollBar()->width() : 0;
    const int available = width() - scrollBarWidth;
    const int side = qMax(0, (available - measure) / 2);
    if (viewportMargins().left() != side || viewportMargins().top() != kTopMargin)
        setViewportMargins(side, kTopMargin, side, 0);
}

void ReadingView::resizeEvent(QResizeEvent* event)
{
    // A new width rewraps the text: bring the anchor back to where it was in the view.
    m_scrollingProgrammatically = true;
    QPlainTextEdit::resizeEvent(event);
    updateColumnMargins();
    m_scrollingProgrammatically = false;
    if (m_pendingPosition)
        applyPendingScroll();
    else if (hasText() && isVisible())
        scrollToPosition(m_anchor, m_anchorFromTop);
}

void ReadingView::showEvent(QShowEvent* event)
{
    QPlainTextEdit::showEvent(event);
    updateColumnMargins();
    applyPendingScroll();
}

void ReadingView::applyPendingScroll()
{
    if (m_pendingPosition && isVisible() && viewport()->height() > 0)
        scrollToPosition(*m_pendingPosition, m_pendingFromTop);
}

void ReadingView::emitPositionIfChanged()
{
    if (!hasText() || m_pendingPosition)
        return;
    const qint64 now = position();
    if (now != m_lastEmittedPosition) {
        m_lastEmittedPosition = now;
        emit positionChanged(now);
    }
}

}  // namespace mm::ui
