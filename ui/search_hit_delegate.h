// Paints one search hit in two lines: "Title · Chapter" small and muted, then the
// snippet with its matched terms in bold on a soft highlight.
#pragma once

#include <QStyledItemDelegate>

namespace mm::ui {

class SearchHitDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

    /// The snippet as HTML: text escaped, [terms] in bold on the highlight colour.
    static QString snippetHtml(const QString& snippet);
};

}  // namespace mm::ui
