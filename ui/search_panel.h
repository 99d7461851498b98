// Full-text search across the library: a query box and the hits (document, chapter,
// snippet with the matched terms marked). It asks for searches and reports the hit
// the reader activates; the service does the searching.
#pragma once

#include "storage/database.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QListView;
class QStandardItemModel;
class QTimer;

namespace mm::ui {

class SearchPanel : public QWidget {
    Q_OBJECT
public:
    enum Roles { HitIndexRole = Qt::UserRole + 1, TitleRole, SnippetRole };

    explicit SearchPanel(QWidget* parent = nullptr);

    QLineEdit* queryEdit() const { return m_query; }
    QListView* resultsView() const { return m_results; }
    int hitCount() const { return m_hits.size(); }
    const storage::SearchHit& hit(int row) const { return m_hits.at(row); }

    /// The words FTS marked in a snippet ("a [brass] [telescope]" -> brass, telescope).
    static QStringList markedTerms(const QString& snippet);
    /// What to highlight for a hit of `query`: the query as a phrase, then its words
    /// and the snippet's marked words, leaving out short and very common words.
    static QStringList highlightTerms(const QString& query, const QString& snippet);
    /// The query whose results are shown.
    QString shownQuery() const { return m_requestedQuery; }

public slots:
    /// Puts `query` in the box and asks for it at once.
    void search(const QString& query);
    void showResults(const QString& query, const QVector<mm::storage::SearchHit>& hits);
    void focusQuery();
    /// Marks a hit as the current one (emits nothing).
    void selectHit(int row);

signals:
    void searchRequested(const QString& query);
    void hitActivated(const mm::storage::SearchHit& hit, const QStringList& highlightTerms);

private:
    void requestSearch();

    QLineEdit* m_query;
    QLabel* m_summary;
    QListView* m_results;
    QStandardItemModel* m_model;
    QTimer* m_typingPause;
    QVector<storage::SearchHit> m_hits;
    QString m_requestedQuery;
};

}  // namespace mm::ui
