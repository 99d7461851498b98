// Table of contents of the open document: its chapters in order. Clicking one asks to
// jump there; the chapter being read is marked as the reading position moves.
#pragma once

#include "storage/database.h"

#include <QWidget>

class QListWidget;

namespace mm::ui {

class TocPanel : public QWidget {
    Q_OBJECT
public:
    explicit TocPanel(QWidget* parent = nullptr);

    QListWidget* list() const { return m_list; }
    int chapterCount() const;
    QString chapterTitle(int index) const;
    /// Index of the chapter holding `position` (code points), or -1 before the first.
    int chapterAt(qint64 position) const;

public slots:
    void setChapters(const QVector<mm::storage::ChapterRecord>& chapters);
    /// Marks the chapter holding `position` (emits nothing).
    void setReadingPosition(qint64 position);

signals:
    void chapterActivated(qint64 position);

private:
    QListWidget* m_list;
    QVector<storage::ChapterRecord> m_chapters;
};

}  // namespace mm::ui
