#include "ui/search_panel.h"

#include "ui/search_hit_delegate.h"

#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QRegularExpression>
#include <QStandardItemModel>
#include <QTimer>
#include <QVBoxLayout>

namespace mm::ui {

SearchPanel::SearchPanel(QWidget* parent)
    : QWidget(parent),
      m_query(new QLineEdit(this)),
      m_summary(new QLabel(this)),
      m_results(new QListView(this)),
      m_model(new QStandardItemModel(this)),
      m_typingPause(new QTimer(this))
{
    m_query->setObjectName(QStringLiteral("searchQuery"));
    m_query->setPlaceholderText(tr("Search the library"));
    m_query->setClearButtonEnabled(true);
    m_summary->setObjectName(QStringLiteral("searchSummary"));
    m_summary->setContentsMargins(4, 0, 4, 0);
    QPalette mutedPalette = m_summary->palette();
    QColor muted = mutedPalette.color(QPalette::WindowText);
    muted.setAlpha(160);
    mutedPalette.setColor(QPalette::WindowText, muted);
    m_summary->setPalette(mutedPalette);

    m_results->setObjectName(QStringLiteral("searchResults"));
    m_results->setModel(m_model);
    m_results->setItemDelegate(new SearchHitDelegate(m_results));
    m_results->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_results->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_results->setFrameShape(QFrame::NoFrame);
    m_results->setUniformItemSizes(true);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 0);
    layout->setSpacing(4);
    layout->addWidget(m_query);
    layout->addWidget(m_summary);
    layout->addWidget(m_results, 1);

    // Search as the reader pauses typing, and at once on Return.
    m_typingPause->setSingleShot(true);
    m_typingPause->setInterval(350);
    connect(m_typingPause, &QTimer::timeout, this, &SearchPanel::requestSearch);
    connect(m_query, &QLineEdit::textEdited, m_typingPause, qOverload<>(&QTimer::start));
    connect(m_query, &QLineEdit::returnPressed, this, &SearchPanel::requestSearch);

    auto activate = [this](const QModelIndex& index) {
        const int row = index.data(HitIndexRole).toInt();
        if (index.isValid() && row >= 0 && row < m_hits.size())
            emit hitActivated(m_hits[row], highlightTerms(m_requestedQuery, m_hits[row].snippet));
    };
    connect(m_results, &QListView::activated, this, activate);
    connect(m_results, &QListView::clicked, this, activate);
}

QStringList SearchPanel::markedTerms(const QString& snippet)
{
    static const QRegularExpression marked(QStringLiteral("\\[([^\\[\\]]+)\\]"));
    QStringList terms;
    auto it = marked.globalMatch(snippet);
    while (it.hasNext()) {
        const QString term = it.next().captured(1).trimmed();
        if (!term.isEmpty() && !terms.contains(term, Qt::CaseInsensitive))
            terms << term;
    }
    return terms;
}

QStringList SearchPanel::highlightTerms(const QString& query, const QString& snippet)
{
    static const QStringList common{
        QStringLiteral("the"), QStringLiteral("and"), QStringLiteral("for"), QStringLiteral("with"),
        QStringLiteral("that"), QStringLiteral("was"), QStringLiteral("had"), QStringLiteral("his"),
        QStringLiteral("her"), QStringLiteral("not"), QStringLiteral("but"), QStringLiteral("are"),
        QStringLiteral("its"), QStringLiteral("him"), QStringLiteral("she"), QStringLiteral("you")};
    static const QRegularExpression nonWord(QStringLiteral("[^\\w']+"));
    QStringList terms;
    const QString phrase = query.simplified();
    if (phrase.contains(QLatin1Char(' ')))
        terms << phrase;
    const QStringList words = query.split(nonWord, Qt::SkipEmptyParts) + markedTerms(snippet);
    for (const QString& word : words) {
        if (word.size() >= 3 && !common.contains(word, Qt::CaseInsensitive) && !terms.contains(word, Qt::CaseInsensitive))
            terms << word;
    }
    return terms;
}

void SearchPanel::search(const QString& query)
{
    m_query->setText(query);
    requestSearch();
}

void SearchPanel::focusQuery()
{
    m_query->setFocus(Qt::ShortcutFocusReason);
    m_query->selectAll();
}

void SearchPanel::selectHit(int row)
{
    m_results->setCurrentIndex(m_model->index(row, 0));
}

void SearchPanel::requestSearch()
{
    m_typingPause->stop();
    const QString query = m_query->text().trimmed();
    if (query == m_requestedQuery && !m_hits.isEmpty())
        return;
    m_requestedQuery = query;
    if (query.isEmpty()) {
        showResults(query, {});
        return;
    }
    m_summary->setText(tr("Searching…"));
    emit searchRequested(query);
}

void SearchPanel::showResults(const QString& query, const QVector<storage::SearchHit>& hits)
{
    if (query != m_requestedQuery)
        return;  // an older search finishing after a newer one was asked for
    m_hits = hits;
    m_model->clear();
    for (int row = 0; row < hits.size(); ++row) {
        const auto& hit = hits[row];
        auto* item = new QStandardItem;
        QString title = hit.docTitle;
        if (!hit.chapterTitle.isEmpty())
            title += QStringLiteral("  ·  ") + hit.chapterTitle.simplified();
        item->setData(row, HitIndexRole);
        item->setData(title, TitleRole);
        item->setData(hit.snippet, SnippetRole);
        item->setData(hit.snippet, Qt::ToolTipRole);
        item->setEditable(false);
        m_model->appendRow(item);
    }
    if (query.isEmpty())
        m_summary->clear();
    else if (hits.isEmpty())
        m_summary->setText(tr("No passages match \"%1\"").arg(query));
    else
        m_summary->setText(tr("%n passage(s)", nullptr, int(hits.size())));
}

}  // namespace mm::ui
