#include "ui/search_hit_delegate.h"

#include "ui/search_panel.h"

#include <QAbstractTextDocumentLayout>
#include <QApplication>
#include <QPainter>
#include <QTextDocument>

namespace mm::ui {

namespace {
constexpr int kPadding = 6;
constexpr int kSnippetLines = 3;
}  // namespace

QString SearchHitDelegate::snippetHtml(const QString& snippet)
{
    QString html;
    QString plain;
    bool inTerm = false;
    for (const QChar c : snippet.simplified()) {
        if (c == QLatin1Char('[') && !inTerm) {
            html += plain.toHtmlEscaped();
            plain.clear();
            inTerm = true;
        } else if (c == QLatin1Char(']') && inTerm) {
            html += QStringLiteral("<b style=\"background-color:#f6e3a1; color:#2d2a26\">%1</b>").arg(plain.toHtmlEscaped());
            plain.clear();
            inTerm = false;
        } else {
            plain += c;
        }
    }
    html += plain.toHtmlEscaped();
    return html;
}

void SearchHitDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                              const QModelIndex& index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    opt.text.clear();
    const QWidget* widget = option.widget;
    QStyle* style = widget ? widget->style() : QApplication::style();
    style->drawPrimitive(QStyle::PE_PanelItemViewItem, &opt, painter, widget);

    const QRect area = option.rect.adjusted(kPadding, kPadding / 2, -kPadding, -kPadding / 2);
    const bool selected = option.state & QStyle::State_Selected;
    const QPalette::ColorGroup group = option.state & QStyle::State_Active ? QPalette::Active : QPalette::Inactive;

    painter->save();
    painter->setClipRect(option.rect);

    QFont titleFont = option.font;
    titleFont.setPointSizeF(titleFont.pointSizeF() * 0.9);
    titleFont.setBold(true);
    const QFontMetrics titleMetrics(titleFont);
    QColor muted = option.palette.color(group, selected ? QPalette::HighlightedText : QPalette::Text);
    if (!selected)
        muted.setAlpha(150);
    painter->setFont(titleFont);
    painter->setPen(muted);
    const QString title = titleMetrics.elidedText(index.data(SearchPanel::TitleRole).toString(),
                                                  Qt::ElideRight, area.width());
    painter->drawText(QRect(area.left(), area.top(), area.width(), titleMetrics.height()),
                      Qt::AlignLeft | Qt::AlignVCenter, title);

    QTextDocument snippet;
    snippet.setDefaultFont(option.font);
    snippet.setDocumentMargin(0);
    snippet.setTextWidth(area.width());
    const QColor ink = option.palette.color(group, selected ? QPalette::HighlightedText : QPalette::Text);
    snippet.setDefaultStyleSheet(QStringLiteral("body { color: %1; }").arg(ink.name()));
    snippet.setHtml(QStringLiteral("<body>%1</body>").arg(snippetHtml(index.data(SearchPanel::SnippetRole).toString())));
    const int snippetTop = area.top() + titleMetrics.height() + 2;
    painter->translate(area.left(), snippetTop);
    const QRect snippetClip(0, 0, area.width(), area.bottom() - snippetTop);
    QAbstractTextDocumentLayout::PaintContext context;
    context.clip = snippetClip;
    context.palette.setColor(QPalette::Text, ink);
    painter->setClipRect(snippetClip, Qt::IntersectClip);
    snippet.documentLayout()->draw(painter, context);
    painter->restore();
}

QSize SearchHitDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const
{
    const QFontMetrics metrics(option.font);
    return {200, kPadding + metrics.height() + 2 + kSnippetLines * metrics.lineSpacing() + kPadding};
}

}  // namespace mm::ui
